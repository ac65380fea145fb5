/**
 * `tagverse init [DIR] --template <name>`: scaffold a project from a pack (`packs/<name>/`) or a blank one.
 * Packs over the real public datasets get absolute paths to those files written into their config.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE } from '../config/project.js';
import { datasetsDir, jsonSchemaPath, packDir, packNames } from '../packs/index.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import { TagverseError } from '../util/problems.js';

export const BLANK_TEMPLATE = 'blank';
/** Placeholder in pack configs for the datasets folder. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a literal placeholder in pack configs, not a template.
export const DATASETS_PLACEHOLDER = '${TAGVERSE_DATASETS}';

export interface InitOptions {
  readonly template?: string;
  /** Folder with the real datasets (default: TAGVERSE_DATASETS or ../shared/datasets). */
  readonly datasets?: string;
  /** Write into a non-empty folder. */
  readonly force?: boolean;
}

export interface InitResult {
  readonly dir: string;
  readonly template: string;
  readonly files: readonly string[];
  readonly nextSteps: readonly string[];
}

export function templateNames(): string[] {
  return [BLANK_TEMPLATE, ...packNames()];
}

/**
 * Create a project folder from a template.
 * @example
 *   await initProject('./grocery', { template: 'grocery' });
 */
export function initProject(dir: string, opts: InitOptions = {}): InitResult {
  const template = opts.template ?? BLANK_TEMPLATE;
  const names = templateNames();
  if (!names.includes(template)) {
    throw new TagverseError(
      'init.unknown_template',
      `unknown template '${template}'${didYouMeanSuffix(template, names)}; available: ${names.join(', ')}`,
    );
  }
  const abs = path.resolve(dir);
  if (existsSync(path.join(abs, CONFIG_FILE)) && !opts.force) {
    throw new TagverseError(
      'init.exists',
      `${path.join(abs, CONFIG_FILE)} already exists (use --force to overwrite)`,
    );
  }
  mkdirSync(abs, { recursive: true });
  const written: string[] = [];
  const schemaLine = `# yaml-language-server: $schema=${jsonSchemaPath()}`;
  if (template === BLANK_TEMPLATE) {
    writeFileSync(path.join(abs, CONFIG_FILE), blankConfig(path.basename(abs), schemaLine));
    mkdirSync(path.join(abs, 'data'), { recursive: true });
    written.push(CONFIG_FILE);
    return {
      dir: abs,
      template,
      files: written,
      nextSteps: [
        'put your files under data/ and describe them in tagverse.yaml',
        'tagverse check',
        'tagverse ingest',
      ],
    };
  }

  const src = packDir(template);
  const configText = readFileSync(path.join(src, CONFIG_FILE), 'utf8');
  let text = configText.replace(/^# yaml-language-server: \$schema=.*$/m, schemaLine);
  if (text.includes(DATASETS_PLACEHOLDER)) {
    const datasets = opts.datasets ? path.resolve(opts.datasets) : datasetsDir();
    if (!datasets || !existsSync(datasets)) {
      throw new TagverseError(
        'init.no_datasets',
        `template '${template}' reads the public datasets folder, which was not found; pass --datasets DIR or set TAGVERSE_DATASETS`,
      );
    }
    text = text.split(DATASETS_PLACEHOLDER).join(datasets.split(path.sep).join('/'));
  }
  writeFileSync(path.join(abs, CONFIG_FILE), text);
  written.push(CONFIG_FILE);
  for (const entry of readdirSync(src, { withFileTypes: true })) {
    if (entry.name === CONFIG_FILE || entry.name === 'README.md') continue;
    cpSync(path.join(src, entry.name), path.join(abs, entry.name), { recursive: true });
    written.push(entry.name);
  }
  const nextSteps =
    template === 'card'
      ? [
          `tagverse generate --out ${dir} (writes the synthetic world's data into this project)`,
          'tagverse ingest',
        ]
      : ['tagverse check', 'tagverse ingest'];
  return { dir: abs, template, files: written, nextSteps };
}

function blankConfig(folderName: string, schemaLine: string): string {
  const name =
    folderName
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^[^a-z]+/, '') || 'my_project';
  return `${schemaLine}
# A Tagverse project. Describe your sources below, then run: tagverse check && tagverse ingest
version: 1
name: ${name}
timezone: UTC
entity:
  name: customer
  id_type: string
sources:
  events:
    kind: events
    files: data/events.csv
    entity_key: customer_id
    timestamp: ts
`;
}
