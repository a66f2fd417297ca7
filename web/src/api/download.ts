// CSV exports: fetched with the session like any call, so a refusal (a period too long, no
// permission) becomes an ApiError the UI shows, then handed to the browser under the server's name.
import { ApiError, apiError, withQuery } from './http.js';

export async function downloadFile(path: string, query: Parameters<typeof withQuery>[1] = {}): Promise<void> {
  let res: Response;
  try {
    res = await fetch(withQuery(`/api${path}`, query), { credentials: 'same-origin' });
  } catch {
    throw new ApiError('NETWORK', 'The server cannot be reached', 0);
  }
  if (!res.ok) throw apiError(res, await res.json().catch(() => null));
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'export.csv';
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // the download has taken the blob by then
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
