import path from 'node:path';

/** The repository root: server/src (tsx) and server/dist (node) both sit two levels below it. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const MIGRATIONS_DIR = path.join(REPO_ROOT, 'prisma', 'migrations');
export const BUNDLED_PLUGINS_DIR = path.join(REPO_ROOT, 'plugins');
/** The dashboard's production build (npm run build -w web). */
export const WEB_DIST_DIR = path.join(REPO_ROOT, 'web', 'dist');
