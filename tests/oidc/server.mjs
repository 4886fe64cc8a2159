// A real OpenID Connect provider for the tests: oidc-provider (panva) with one confidential client and the
// users given in OIDC_TEST_USERS. Its own login page checks the user's password (no dev interactions).
//
//   PORT=0 OIDC_REDIRECT_URI=... OIDC_CLIENT_SECRET=... OIDC_TEST_USERS='{"ana": {"password": "...",
//   "claims": {"preferred_username": "ana", "dwcoder_role": "reviewer", "dwcoder_practice": "sys|val"}}}'
//   [OIDC_CLAIMS_IN_ID_TOKEN=1]  node server.mjs
//
// Prints "listening <port>" once it serves. Issuer: http://127.0.0.1:<port>. Tests only.
import http from 'node:http';
import crypto from 'node:crypto';
import { URLSearchParams } from 'node:url';
import Provider from 'oidc-provider';

const users = JSON.parse(process.env.OIDC_TEST_USERS || '{}');
const redirectUri = process.env.OIDC_REDIRECT_URI;
const clientSecret = process.env.OIDC_CLIENT_SECRET;
const clientId = process.env.OIDC_CLIENT_ID || 'dwcoder';

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', use: 'sig', alg: 'RS256' };

const server = http.createServer();
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
      grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [jwk] },
    claims: {
      openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'],
      dwcoder: ['dwcoder_role', 'dwcoder_practice'],
    },
    conformIdTokenClaims: process.env.OIDC_CLAIMS_IN_ID_TOKEN !== '1',
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    async findAccount(ctx, id) {
      if (!users[id]) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...users[id].claims }; } };
    },
    ttl: { Session: 600, Interaction: 600, Grant: 600, AccessToken: 600, AuthorizationCode: 60, IdToken: 600 },
  });
  const callback = provider.callback();

  server.on('request', async (req, res) => {
    const match = req.url.match(/^\/interaction\/([\w-]+)(\/login)?$/);
    if (!match) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (req.method === 'GET') return page(res, details.uid, '');
      const form = new URLSearchParams(await body(req));
      const name = form.get('username') || '';
      if (!users[name] || users[name].password !== form.get('password')) {
        return page(res, details.uid, 'Wrong username or password', 401);
      }
      const grant = new provider.Grant({ accountId: name, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const grantId = await grant.save();
      return provider.interactionFinished(req, res, { login: { accountId: name }, consent: { grantId } },
        { mergeWithLastSubmission: false });
    } catch (err) {
      res.statusCode = 400;
      res.end(`interaction error: ${err.name}`);
    }
  });
  console.log(`listening ${port}`);
});

function body(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; if (data.length > 10000) req.destroy(); });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function page(res, uid, message, status = 200) {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(`<!doctype html><title>Test provider sign-in</title><p>${message}</p>
<form method="post" action="/interaction/${uid}/login">
<input name="username"><input name="password" type="password"><button>Sign in</button></form>`);
}

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
