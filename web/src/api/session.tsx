/**
 * Signing in: the console holds one API key (sessionStorage, or localStorage when the user asks to be
 * remembered), checks it with GET /v1/me, and shares the client, the key's role and the optional API
 * parts with every page. Any 401 afterwards signs out (the key was revoked or rotated).
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { ConsoleApi, errorMessage, type Features, NO_FEATURES, TagverseApiError } from './console-api.js';
import type { Me } from './types.js';

const STORAGE_KEY = 'tagverse.console.key';

export type Permission =
  | 'profiles:read'
  | 'tags:read'
  | 'segments:read'
  | 'segments:write'
  | 'store:admin'
  | 'events:write'
  | 'recs:read'
  | 'offers:decide';

export interface Session {
  readonly api: ConsoleApi;
  readonly me: Me;
  /** Optional API parts (all off until detected: see featuresKnown). */
  readonly features: Features;
  readonly featuresKnown: boolean;
  /** Does the key's role allow this? (The server checks again: this only hides what would be refused.) */
  can(permission: Permission): boolean;
  signOut(): void;
}

const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY) ?? localStorage.getItem(STORAGE_KEY);
}

function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  localStorage.removeItem(STORAGE_KEY);
}

type State =
  | { kind: 'checking' }
  | { kind: 'signed-out'; message?: string }
  | { kind: 'signed-in'; api: ConsoleApi; me: Me };

export type SignIn = (key: string, remember: boolean) => Promise<void>;

/**
 * Tries a key: the client and the key's identity, or an error. On the overview its data is asked for
 * at the same time. The server's optional parts are detected later (setFeatures), when the page is
 * idle, so the first page shares the server with nothing else; at once on the Models page.
 */
async function open(
  key: string,
  onUnauthorized: () => void,
  setFeatures: (f: Features) => void,
): Promise<Extract<State, { kind: 'signed-in' }>> {
  const api = new ConsoleApi({ baseUrl: window.location.origin, apiKey: key }, onUnauthorized);
  const first = window.location.pathname;
  const me = api.me();
  if (first === '/') api.prefetchOverview();
  const detect = () => api.features().then(setFeatures, () => setFeatures(NO_FEATURES));
  if (first.startsWith('/models')) detect();
  else
    setTimeout(() => {
      if ('requestIdleCallback' in window) window.requestIdleCallback(detect, { timeout: 3000 });
      else detect();
    }, 1500);
  return { kind: 'signed-in', api, me: await me };
}

export function SessionProvider(props: {
  children: ReactNode;
  signIn: (signIn: SignIn, message?: string) => ReactNode;
}) {
  const [state, setState] = useState<State>(() =>
    storedKey() ? { kind: 'checking' } : { kind: 'signed-out' },
  );
  const [features, setFeatures] = useState<Features | undefined>(undefined);

  const expire = useCallback(() => {
    forgetKey();
    setState({ kind: 'signed-out', message: 'Your API key is no longer accepted. Sign in again.' });
  }, []);

  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    open(key, expire, setFeatures)
      .then(setState)
      .catch((e: unknown) => {
        if (e instanceof TagverseApiError && e.status === 401) forgetKey();
        setState({ kind: 'signed-out', message: errorMessage(e) });
      });
  }, [expire]);

  const signIn = useCallback<SignIn>(
    async (key, remember) => {
      const s = await open(key.trim(), expire, setFeatures);
      forgetKey();
      (remember ? localStorage : sessionStorage).setItem(STORAGE_KEY, key.trim());
      setState(s);
    },
    [expire],
  );

  const session = useMemo<Session | undefined>(() => {
    if (state.kind !== 'signed-in') return undefined;
    return {
      api: state.api,
      me: state.me,
      features: features ?? NO_FEATURES,
      featuresKnown: features !== undefined,
      can: (p) => state.me.permissions.includes(p),
      signOut: () => {
        forgetKey();
        setState({ kind: 'signed-out' });
      },
    };
  }, [state, features]);

  if (state.kind === 'checking') return <div className="boot" aria-busy="true" />;
  if (!session) return <>{props.signIn(signIn, state.kind === 'signed-out' ? state.message : undefined)}</>;
  return <SessionContext.Provider value={session}>{props.children}</SessionContext.Provider>;
}
