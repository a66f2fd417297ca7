// The closed permission lists of SPEC §2: the server's own (a dependency-free module), so the UI
// offers exactly what the API accepts.
export { NODE_PERMISSIONS, PROJECT_PERMISSIONS } from '../../../server/src/auth/permissions.js';
