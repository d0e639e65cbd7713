// clients.mjs drives Haven's FHIR API with two FHIR clients written by others, as a connected
// system would: fhir-kit-client and the SMART team's fhirclient, both from npm (installed by
// .ci/run into .cache/fhir, never vendored). It prints one JSON object on stdout with everything
// it received, for the Go test (node_clients_test.go) to check against what it created and to
// validate against the FHIR R4 JSON schema.
//
// Neither client does SMART Backend Services (fhirclient has no backend-services flow), so the
// client assertion is signed here with node:crypto (ES384, RFC 7523) and posted to the token
// endpoint the server's /.well-known/smart-configuration names.
//
// Environment:
//   HAVEN_FHIR_NODE_MODULES  node_modules holding fhir-kit-client and fhirclient
//   HAVEN_FHIR_BASE          the FHIR base URL (https://localhost:PORT/fhir/R4)
//   HAVEN_CLIENT_ID          the registered client's id
//   HAVEN_CLIENT_JWK         its private key as a JWK (EC P-384, with kid)
//   HAVEN_SCOPE              the scopes to ask for
//   HAVEN_NOW                the server's clock, Unix seconds (the test server's clock is fake)
//   HAVEN_FAMILY             the family name to search for ("" for metadata mode)
//   HAVEN_MODE               "metadata": token request and metadata only; "full": everything
//   NODE_EXTRA_CA_CERTS      the test server's certificate
import { createRequire } from 'node:module';
import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const modules = env('HAVEN_FHIR_NODE_MODULES');
const require = createRequire(join(modules, 'noop.js'));

// importPackage loads an ES-module-only package (fhir-kit-client) from modules: import() does
// not search NODE_PATH, so its entry is read from its package.json.
async function importPackage(name) {
  const dir = join(modules, name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const dot = pkg.exports?.['.'] ?? pkg.exports;
  const entry = (typeof dot === 'string' ? dot : dot?.import ?? dot?.default) ?? pkg.module ?? pkg.main;
  return import(pathToFileURL(join(dir, entry)).href);
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// assertion signs the RFC 7523 client assertion SMART Backend Services asks for.
function assertion(clientId, jwk, aud, now) {
  const header = { alg: 'ES384', typ: 'JWT', kid: jwk.kid };
  const claims = { iss: clientId, sub: clientId, aud, iat: now, exp: now + 240, jti: randomUUID() };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  const sig = sign('sha384', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(sig)}`;
}

async function token(base, out) {
  const conf = await (await fetch(`${base}/.well-known/smart-configuration`)).json();
  out.smart = conf;
  const jwk = JSON.parse(env('HAVEN_CLIENT_JWK'));
  const signed = assertion(env('HAVEN_CLIENT_ID'), jwk, conf.token_endpoint, Number(env('HAVEN_NOW')));
  out.assertion = signed;
  const resp = await fetch(conf.token_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: env('HAVEN_SCOPE'),
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: signed,
    }),
  });
  const body = await resp.json();
  out.token = { status: resp.status, scope: body.scope, token_type: body.token_type, expires_in: body.expires_in, error: body.error };
  return body.access_token;
}

// withKit reads and searches with fhir-kit-client.
async function withKit(base, accessToken, family, full) {
  const { Client } = await importPackage('fhir-kit-client');
  const client = new Client({ baseUrl: base, bearerToken: accessToken });
  const out = { metadata: await client.capabilityStatement() };
  if (!full) return out;
  const pages = [await client.search({ resourceType: 'Patient', searchParams: { name: family, _count: 10 } })];
  for (let next = await client.nextPage({ bundle: pages[0] }); next; next = await client.nextPage({ bundle: next })) {
    pages.push(next);
    if (pages.length > 20) throw new Error('fhir-kit-client: more than 20 pages; the next links do not end');
  }
  out.pages = pages;
  const id = pages[0].entry[0].resource.id;
  out.read = await client.read({ resourceType: 'Patient', id });
  out.everything = await client.operation({ resourceType: 'Patient', id, name: '$everything', method: 'GET' });
  return out;
}

// withFhirclient reads and searches with the SMART team's fhirclient, in its documented
// server-side form: smart(request, response, storage).client(state).
async function withFhirclient(base, accessToken, family, id, full) {
  const smart = require('fhirclient');
  const store = new Map();
  const storage = {
    get: async (k) => store.get(k), set: async (k, v) => { store.set(k, v); return v; }, unset: async (k) => store.delete(k),
  };
  const request = { url: '/', headers: { host: 'localhost' }, protocol: 'https', method: 'GET' };
  const client = smart(request, {}, storage).client({ serverUrl: base, tokenResponse: { access_token: accessToken } });
  if (!full) return { metadata: await client.request('metadata') };
  const read = await client.request(`Patient/${id}`);
  // pageLimit 0 follows every next link and, not flat, answers the pages as Bundles.
  const pages = await client.request(`Patient?name=${encodeURIComponent(family)}&_count=10`, { pageLimit: 0 });
  return { read, pages: Array.isArray(pages) ? pages : [pages] };
}

async function main() {
  const base = env('HAVEN_FHIR_BASE');
  const full = env('HAVEN_MODE') === 'full';
  const family = process.env.HAVEN_FAMILY ?? '';
  const out = {};
  const accessToken = await token(base, out);
  if (full && !accessToken) throw new Error(`no access token: ${JSON.stringify(out.token)}`);
  out.kit = await withKit(base, accessToken, family, full);
  out.fhirclient = await withFhirclient(base, accessToken, family, out.kit.read?.id, full);
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
