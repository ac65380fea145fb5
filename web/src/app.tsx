/**
 * The console's frame: sign-in gate, navigation, the header with the served build and the key's role,
 * and the page for the current path.
 */
import { lazy, type ReactNode, Suspense, useEffect } from 'react';
import { SessionProvider, useSession } from './api/session.js';
import { useApi } from './api/use-api.js';
import { OverviewPage } from './pages/overview.js';
import { SignInPage } from './pages/sign-in.js';
import { Link, match, useLocation } from './router.js';
import { Badge, Loading } from './ui/components.js';
import { fmtInt, fmtTime } from './ui/format.js';

export function App() {
  return (
    <SessionProvider signIn={(signIn, message) => <SignInPage signIn={signIn} message={message} />}>
      <Shell />
    </SessionProvider>
  );
}

// The overview (the first page) comes with the app; the others load when first opened.
const TagsPage = lazy(() => import('./pages/tags.js').then((m) => ({ default: m.TagsPage })));
const TagPage = lazy(() => import('./pages/tag.js').then((m) => ({ default: m.TagPage })));
const CustomerPage = lazy(() => import('./pages/customer.js').then((m) => ({ default: m.CustomerPage })));
const SegmentsPage = lazy(() => import('./pages/segments.js').then((m) => ({ default: m.SegmentsPage })));
const ModelsPage = lazy(() => import('./pages/models.js').then((m) => ({ default: m.ModelsPage })));

interface Route {
  readonly pattern: string;
  readonly title: (params: Record<string, string>) => string;
  readonly render: (params: Record<string, string>) => ReactNode;
}

const ROUTES: readonly Route[] = [
  { pattern: '/', title: () => 'Overview', render: () => <OverviewPage /> },
  { pattern: '/tags', title: () => 'Tags', render: () => <TagsPage /> },
  { pattern: '/tags/:name', title: (p) => p.name!, render: (p) => <TagPage key={p.name} name={p.name!} /> },
  { pattern: '/customers', title: () => 'Customers', render: () => <CustomerPage /> },
  { pattern: '/customers/:id', title: (p) => p.id!, render: (p) => <CustomerPage key={p.id} id={p.id!} /> },
  { pattern: '/segments', title: () => 'Segments', render: () => <SegmentsPage /> },
  { pattern: '/models', title: () => 'Models', render: () => <ModelsPage /> },
  {
    pattern: '/models/:name',
    title: (p) => p.name!,
    render: (p) => <ModelsPage key={p.name} name={p.name!} />,
  },
];

function NavLink(props: { to: string; label: string; active: boolean }) {
  return (
    <li className={props.active ? 'active' : undefined}>
      <Link to={props.to}>{props.label}</Link>
    </li>
  );
}

function Shell() {
  const { me, features, signOut, can } = useSession();
  const { path } = useLocation();
  const store = useApi((api) => (can('tags:read') ? api.store() : Promise.resolve(undefined)), []);
  const found = ROUTES.map((r) => ({ r, params: match(r.pattern, path) })).find((x) => x.params);
  const section = `/${path.split('/')[1] ?? ''}`;

  useEffect(() => {
    const name = found ? found.r.title(found.params!) : 'Not found';
    document.title = `${name} · Tagverse`;
  }, [found]);

  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Tagverse
        </div>
        <ul>
          <NavLink to="/" label="Overview" active={section === '/'} />
          <NavLink to="/tags" label="Tags" active={section === '/tags'} />
          <NavLink to="/customers" label="Customers" active={section === '/customers'} />
          <NavLink to="/segments" label="Segments" active={section === '/segments'} />
          {features.models && <NavLink to="/models" label="Models" active={section === '/models'} />}
        </ul>
        <div className="sidebar-foot">
          <a href="/docs">API reference</a>
        </div>
      </nav>
      <div className="main">
        <header className="topbar">
          <div className="topbar-store" data-testid="store-line">
            {store.data && (
              <>
                <strong>{store.data.project}</strong>
                <span>
                  {fmtInt(store.data.entities)} {store.data.entityName}s · {fmtInt(store.data.tags)} tags ·
                  build {store.data.buildId} as of {fmtTime(store.data.asOf)}
                </span>
              </>
            )}
          </div>
          <div className="topbar-user">
            <Badge tone="role" title={`permissions: ${me.permissions.join(', ')}`}>
              <span data-testid="role">{me.role}</span>
            </Badge>
            <span className="key-name">{me.name ?? me.keyId}</span>
            <button type="button" className="button-quiet" onClick={signOut}>
              Sign out
            </button>
          </div>
        </header>
        <main className="content">
          {!can('tags:read') ? (
            <div className="page">
              <h1>Nothing to show for this key</h1>
              <p>
                A key with the {me.role} role can only send events. Sign in with a viewer, editor or admin key
                to use the console.
              </p>
            </div>
          ) : found ? (
            <Suspense fallback={<Loading />}>{found.r.render(found.params!)}</Suspense>
          ) : (
            <div className="page">
              <h1>Not found</h1>
              <p>
                Nothing lives at <code>{path}</code>. <Link to="/">Back to the overview</Link>.
              </p>
            </div>
          )}
        </main>
      </div>
    </div>
  );
}
