/**
 * Data for a page: call the API when the inputs change, keep the latest answer, ignore answers that
 * arrive after newer inputs (typing fast must not show an older count).
 */
import { type DependencyList, useCallback, useEffect, useRef, useState } from 'react';
import type { ConsoleApi } from './console-api.js';
import { useSession } from './session.js';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  reload(): void;
}

export function useApi<T>(fn: (api: ConsoleApi) => Promise<T>, deps: DependencyList): Loaded<T> {
  const { api } = useSession();
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names the inputs of fn
  useEffect(() => {
    const call = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    fn(api).then(
      (data) => call === latest.current && setState({ data, loading: false }),
      (error: unknown) => call === latest.current && setState({ error, loading: false }),
    );
  }, [api, tick, ...deps]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}
