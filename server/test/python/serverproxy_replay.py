#!/usr/bin/env python3
"""Replays, call by call, what the Python client `rndflow.server.ServerProxy` (rndflow-job-py) sends,
against a Keyport server: same paths under <server>/api, same query parameters, same JSON bodies
(including the misspelled `felds` of postPackage(layer, label, fields)), `Authorization: Bearer`,
raw transfers without it, and the same checks on the answers (HTTP 200, JSON, sha256 of downloads).

Inputs (environment): KEYPORT_SERVER, KEYPORT_KEY, KEYPORT_PROJECT, KEYPORT_INPUT, KEYPORT_OUTPUT,
KEYPORT_WORKDIR. Ids are passed as strings, as secrets are. Prints one JSON line with what it saw.
Uses `requests` like the real client; falls back to urllib when it is not installed.
"""
import hashlib
import json
import mimetypes
import os
import pathlib
import sys
import time
from datetime import datetime, timedelta

try:
    import requests  # noqa: F401
    HAVE_REQUESTS = True
except ImportError:  # pragma: no cover - exercised only on machines without requests
    HAVE_REQUESTS = False
    import urllib.error
    import urllib.parse
    import urllib.request


# --------------------------------------------------------------------------- transport
class Response:
    def __init__(self, status, body, url):
        self.status_code = status
        self.content = body
        self.url = url

    @property
    def text(self):
        return self.content.decode('utf-8', 'replace')

    def json(self):
        return json.loads(self.content)

    def raise_for_status(self):
        if self.status_code >= 400:
            raise RuntimeError(f'HTTP {self.status_code} for {self.url}: {self.text[:300]}')


class Session:
    """requests.Session when available; else a tiny urllib equivalent with the same call shape."""

    def __init__(self):
        self.headers = {}
        self._s = requests.Session() if HAVE_REQUESTS else None

    def request(self, method, url, params=None, json_body=None, data=None, headers=None):
        h = dict(self.headers)
        h.update(headers or {})
        if HAVE_REQUESTS:
            kw = {'params': params, 'headers': h, 'timeout': 30}
            if json_body is not None:
                kw['json'] = json_body
            if data is not None:
                kw['data'] = data
            r = self._s.request(method, url, **kw)
            return Response(r.status_code, r.content, r.url)
        if params:
            url = url + '?' + urllib.parse.urlencode(params)
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            h['Content-Type'] = 'application/json'
        elif data is not None:
            body = data if isinstance(data, bytes) else data.read()
        req = urllib.request.Request(url, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return Response(r.status, r.read(), url)
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read(), url)


CALLS = []


def file_hash(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for b in iter(lambda: f.read(65536), b''):
            h.update(b)
    return h.hexdigest()


# --------------------------------------------------------------------------- rndflow.server.Server
class Server:
    def __init__(self, api_server, api_key):
        self.base_url = f'{api_server}/api'
        self.session = Session()
        self.raw_session = Session()
        self.access_token = api_key
        self.session.headers.update(dict(Authorization=f'Bearer {self.access_token}'))

    def _call(self, method, resource, params=None, json_body=None):
        r = self.session.request(method, f'{self.base_url}{resource}', params=params, json_body=json_body)
        CALLS.append({'method': method, 'path': resource, 'params': params, 'json': json_body, 'status': r.status_code})
        # response_json: anything but 200 is printed; 4xx/5xx raise. We also insist on exactly 200.
        if r.status_code != 200:
            print(method, resource, r.text, file=sys.stderr)
        r.raise_for_status()
        assert r.status_code == 200, f'{method} {resource} answered {r.status_code}, the client expects 200'
        return r.json()

    def get(self, resource, params=None):
        return self._call('GET', resource, params=params)

    def post(self, resource, params=None, json=None):
        return self._call('POST', resource, params=params, json_body=json)

    def put(self, resource):
        return self._call('PUT', resource)

    def download(self, file, path=None, folder=None):
        if folder is not None:
            path = pathlib.Path(folder) / file['name']
        path.parent.mkdir(parents=True, exist_ok=True)
        ntries = 2
        while True:
            r = self.raw_session.request('GET', file['content'])  # no Authorization header
            r.raise_for_status()
            h = hashlib.sha256()
            with open(path, 'wb') as f:
                h.update(r.content)
                f.write(r.content)
            ntries -= 1
            if h.hexdigest() == file['content_hash']:
                break
            elif ntries > 0:
                continue
            else:
                raise Exception(f'{path}: wrong content checksum.')
        if file['is_executable']:
            os.chmod(path, 0o770)
        return path

    def upload_project_file(self, project, path, name=None):
        path = pathlib.Path(path)
        name = name or path.name
        size = path.stat().st_size
        f_hash = file_hash(path)
        binary = b'\0' in path.read_bytes()[:8192]
        f_type, _ = mimetypes.guess_type(str(path))
        if f_type is None:
            f_type = 'application/x-binary' if binary else 'text/plain'
        link = self.put(f'/projects/{project}/objects/{f_hash}')
        if link is not None:
            with open(path, 'rb') as f:
                r = self.raw_session.request('PUT', link, data=f, headers={
                    'Content-Type': f_type,
                    'Content-Length': str(size),
                })
                r.raise_for_status()
        return dict(name=name, content_hash=f_hash, type=f_type,
                    is_executable=os.access(path, os.X_OK), is_binary=binary, size=size), link


# --------------------------------------------------------------------------- rndflow.server.ServerProxy
class ServerProxy(Server):
    def __init__(self, api_key, project, input_node, output_node, api_server):
        self.project = project
        self.input_node = input_node
        self.output_node = output_node
        super().__init__(api_server=api_server, api_key=api_key)

    def getLastDataLayer(self):
        layer = self.get(f'/projects/{self.project}/data_layers/last')
        return layer['id']

    def getDataLayers(self):
        rez = self.get(f'/projects/{self.project}/data_layers')
        return list(map(lambda x: x['id'], rez))

    def createPackageAndPost(self, layer, label, fields):
        # the first (shadowed) postPackage overload of the real client: note `felds`
        package = dict(label=label, felds=fields)
        return self.postPackage(layer, package)

    def postPackage(self, layer, package):
        p = self.post(f'/projects/{self.project}/nodes/{self.input_node}/packages',
                      params=dict(data_layer_id=layer,), json=package)
        return p['id']

    def searchByMaster(self, layer, master, page=1, page_size=1):
        return self.post(f'/projects/{self.project}/nodes/{self.output_node}/packages/search',
                         params=dict(data_layer_id=layer, page=page, page_size=page_size),
                         json=dict(master_id=master))

    def waitResult(self, layer, master, timeout=timedelta(minutes=5), retry_pause=5, page=1, page_size=10):
        borderTime = datetime.now() + timeout
        ready = False
        while not ready and datetime.now() < borderTime:
            results = self.searchByMaster(layer, master, page, page_size)
            for result in results['items']:
                ready = True
                break
            else:
                time.sleep(retry_pause)
        if not ready:
            raise Exception('Timeout!')
        return results['items'], results['total']

    def waitOneResult(self, layer, master, timeout=timedelta(minutes=5), retry_pause=5):
        items, _ = self.waitResult(layer, master, timeout, retry_pause, 1, 1)
        return items[0]['id'], items[0]['fields']

    def getFilesList(self, ident):
        return self.get(f'/projects/{self.project}/nodes/{self.output_node}/packages/{ident}/files')

    def waitOneResultAndFiles(self, layer, master, timeout=timedelta(minutes=5), retry_pause=5):
        ident, fields = self.waitOneResult(layer, master, timeout, retry_pause)
        files = self.getFilesList(ident)
        return ident, fields, files


# --------------------------------------------------------------------------- the replay
def main():
    env = os.environ
    workdir = pathlib.Path(env['KEYPORT_WORKDIR'])
    # ids come from secrets: strings
    proxy = ServerProxy(env['KEYPORT_KEY'], env['KEYPORT_PROJECT'], env['KEYPORT_INPUT'], env['KEYPORT_OUTPUT'],
                        env['KEYPORT_SERVER'])
    out = {'requests': HAVE_REQUESTS}

    layer = proxy.getLastDataLayer()
    layers = proxy.getDataLayers()
    assert layer in layers, (layer, layers)
    out['layer'] = layer

    # upload_project_file: first time a link, second time null
    src = workdir / 'input.csv'
    src.write_text('a,b\n2,40\n')
    file1, link1 = proxy.upload_project_file(env['KEYPORT_PROJECT'], src)
    file2, link2 = proxy.upload_project_file(env['KEYPORT_PROJECT'], src)
    assert link1 is not None and link2 is None, (link1, link2)
    assert file1 == file2

    # post_package with fields and files
    master = proxy.postPackage(layer, dict(label='py job', fields={'a': 2, 'b': 40}, files=[file1]))
    # create_package_and_post: `felds` is ignored, the package is created without fields
    felds = proxy.createPackageAndPost(layer, 'py felds', {'a': 1})
    # older job code: data_layer_id in the JSON body, no query
    legacy = proxy.post(f'/projects/{proxy.project}/nodes/{proxy.input_node}/packages',
                        json=dict(label='legacy', fields={'a': 5}, data_layer_id=layer))['id']

    ident, fields = proxy.waitOneResult(layer, master, timeout=timedelta(seconds=30), retry_pause=0.1)
    values = {f['name']: f['value'] for f in fields}
    assert values['sum'] == 42, values

    res = proxy.searchByMaster(layer, master)  # page=1, page_size=1 defaults
    assert res['total'] == 1 and res['items'][0]['id'] == ident, res

    items, total = proxy.waitResult(layer, felds, timeout=timedelta(seconds=30), retry_pause=0.1)
    felds_values = {f['name']: f['value'] for f in items[0]['fields']}
    _, legacy_fields, files = proxy.waitOneResultAndFiles(layer, legacy, timeout=timedelta(seconds=30), retry_pause=0.1)

    files = proxy.getFilesList(ident)
    downloaded = {}
    for f in files:
        assert f['content'].startswith('http'), f
        p = proxy.download(f, folder=workdir / 'out')
        downloaded[f['name']] = p.read_text()

    out.update({
        'master': master,
        'result': ident,
        'sum': values['sum'],
        'felds_sum': felds_values.get('sum'),
        'legacy_sum': {f['name']: f['value'] for f in legacy_fields}.get('sum'),
        'files': [{k: f[k] for k in ('name', 'content_hash', 'size', 'type', 'is_executable', 'is_binary')} for f in files],
        'downloaded': downloaded,
        'calls': CALLS,
    })
    print(json.dumps(out))


if __name__ == '__main__':
    main()
