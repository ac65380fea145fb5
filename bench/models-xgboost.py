"""XGBoost side of bench/models.bench.ts: trains on exactly the matrices our trainer saw.

Run with Debian's interpreter and packages (`apt-get install python3-xgboost python3-sklearn`):
    /usr/bin/python3 bench/models-xgboost.py MANIFEST.json
The manifest (written by bench/models-compare.ts) names raw float64 files for each set (fit, stop,
valid: x row-major, y), the feature types ('q' numeric, 'c' categorical codes, NaN = missing), the
parameters and the runs (seed x threads). Prints one JSON object: per run the validation AUC
(scikit-learn), log loss, trees kept, and the time to build the DMatrix and to train (wall and CPU).
"""
import json
import sys
import time

import numpy as np
import xgboost as xgb
from sklearn.metrics import log_loss, roc_auc_score


def load(part, features):
    x = np.fromfile(part["x"], dtype="<f8").reshape(-1, features)
    y = np.fromfile(part["y"], dtype="<f8")
    return x, y


def main():
    manifest = json.load(open(sys.argv[1]))
    f = len(manifest["featureTypes"])
    sets = {k: load(v, f) for k, v in manifest["sets"].items()}
    p = manifest["params"]
    out = {"xgboost": xgb.__version__, "runs": []}
    for run in manifest["runs"]:
        params = {
            "objective": "binary:logistic" if p["objective"] == "binary" else "reg:squarederror",
            "tree_method": "hist",
            "max_depth": p["max_depth"],
            "max_leaves": p["max_leaves"],
            "grow_policy": "depthwise" if p["max_depth"] > 0 else "lossguide",
            "eta": p["learning_rate"],
            "min_child_weight": p["min_child_weight"],
            "lambda": p["lambda"],
            "gamma": p["gamma"],
            "subsample": p["subsample"],
            "colsample_bytree": p["colsample_bytree"],
            "max_bin": p["max_bins"],
            "max_cat_to_onehot": p["max_cat_to_onehot"],
            "max_cat_threshold": p["max_cat_threshold"],
            "base_score": p["base_score"],
            "eval_metric": "logloss" if p["objective"] == "binary" else "rmse",
            "seed": run["seed"],
            "nthread": run["threads"],
            "verbosity": 0,
        }
        wall0, cpu0 = time.perf_counter(), time.process_time()
        kw = {"feature_types": manifest["featureTypes"], "enable_categorical": True, "nthread": run["threads"]}
        dfit = xgb.DMatrix(sets["fit"][0], label=sets["fit"][1], **kw)
        dstop = xgb.DMatrix(sets["stop"][0], label=sets["stop"][1], **kw) if "stop" in sets else None
        wall1, cpu1 = time.perf_counter(), time.process_time()
        extra = {}
        if dstop is not None and p["early_stopping_rounds"] > 0:
            extra = {"evals": [(dstop, "stop")], "early_stopping_rounds": p["early_stopping_rounds"]}
        booster = xgb.train(params, dfit, num_boost_round=p["trees"], verbose_eval=False, **extra)
        wall2, cpu2 = time.perf_counter(), time.process_time()
        best = booster.best_iteration + 1 if dstop is not None and p["early_stopping_rounds"] > 0 else p["trees"]
        dvalid = xgb.DMatrix(sets["valid"][0], label=sets["valid"][1], **kw)
        pred = booster.predict(dvalid, iteration_range=(0, best))
        yv = sets["valid"][1]
        res = {
            "seed": run["seed"],
            "threads": run["threads"],
            "trees": best,
            "dmatrixSeconds": wall1 - wall0,
            "trainSeconds": wall2 - wall1,
            "dmatrixCpuSeconds": cpu1 - cpu0,
            "trainCpuSeconds": cpu2 - cpu1,
        }
        if p["objective"] == "binary":
            res["auc"] = float(roc_auc_score(yv, pred))
            res["logLoss"] = float(log_loss(yv, np.clip(pred, 1e-15, 1 - 1e-15)))
        else:
            res["rmse"] = float(np.sqrt(np.mean((pred - yv) ** 2)))
        if run.get("predictions"):
            pred.astype("<f8").tofile(run["predictions"])
        out["runs"].append(res)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
