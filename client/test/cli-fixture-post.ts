// Child program of the `keyport run` test: a job that builds its client from the secrets in its
// environment (as `keyport run` put them there) and posts a package with the imported key.
import { KeyportClient } from '../src/index.js';

const client = KeyportClient.fromSecrets('calc');
const layer = await client.getLastDataLayer();
const id = await client.postPackage(layer, { label: 'from-keyport-run', fields: { a: 2, b: 3 } });
process.stdout.write(JSON.stringify({ layer, id, project: client.project, input: client.input }));
