-- digital-workflow-coder: tell the plugin when a study is stable (Orthanc 1.10+, Lua 5.3).
--
-- Posts {"study": StudyInstanceUID, "version": LastUpdate, "aet": sending AE title} to
--   $DWCODER_PACS_URL   e.g. https://dwcoder.example/pacs/office/stable-study
-- signed with Standard Webhooks 1.0 (HMAC-SHA256 of "id.timestamp.body") using
--   $DWCODER_PACS_SECRET   "whsec_" + base64, the same secret as in the plugin's PACS setting ("secrets").
-- Orthanc's Lua has no HMAC, so SHA-256, HMAC and base64 are written out below (Lua 5.3 integer bit operators).
-- A failed post is not retried here: the plugin's reconciler walks Orthanc's /changes and catches it up.
-- Set DWCODER_NOTIFY_DISABLED=1 to stop notifying without removing the script (the reconciler still sees studies).

local M = {}

-- ------------------------------------------------------------------ SHA-256 (FIPS 180-4)
local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local MASK = 0xffffffff

local function rotr(x, n)
  return ((x >> n) | (x << (32 - n))) & MASK
end

local function compress(h, block)
  local w = {}
  for i = 1, 16 do
    w[i] = string.unpack(">I4", block, (i - 1) * 4 + 1)
  end
  for i = 17, 64 do
    local a, b = w[i - 15], w[i - 2]
    local s0 = rotr(a, 7) ~ rotr(a, 18) ~ (a >> 3)
    local s1 = rotr(b, 17) ~ rotr(b, 19) ~ (b >> 10)
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) & MASK
  end
  local a, b, c, d, e, f, g, hh = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
  for i = 1, 64 do
    local S1 = rotr(e, 6) ~ rotr(e, 11) ~ rotr(e, 25)
    local ch = (e & f) ~ ((~e) & g)
    local t1 = (hh + S1 + ch + K[i] + w[i]) & MASK
    local S0 = rotr(a, 2) ~ rotr(a, 13) ~ rotr(a, 22)
    local maj = (a & b) ~ (a & c) ~ (b & c)
    local t2 = (S0 + maj) & MASK
    hh, g, f, e, d, c, b, a = g, f, e, (d + t1) & MASK, c, b, a, (t1 + t2) & MASK
  end
  h[1], h[2], h[3], h[4] = (h[1] + a) & MASK, (h[2] + b) & MASK, (h[3] + c) & MASK, (h[4] + d) & MASK
  h[5], h[6], h[7], h[8] = (h[5] + e) & MASK, (h[6] + f) & MASK, (h[7] + g) & MASK, (h[8] + hh) & MASK
end

function M.sha256(msg)
  local h = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }
  local padded = msg .. "\128" .. string.rep("\0", (55 - #msg) % 64) .. string.pack(">I8", #msg * 8)
  for i = 1, #padded, 64 do
    compress(h, padded:sub(i, i + 63))
  end
  return string.pack(">I4I4I4I4I4I4I4I4", h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8])
end

-- ------------------------------------------------------------------ HMAC (RFC 2104) and base64 (RFC 4648)
function M.hmac_sha256(key, msg)
  if #key > 64 then key = M.sha256(key) end
  key = key .. string.rep("\0", 64 - #key)
  local ipad = key:gsub(".", function(c) return string.char(c:byte() ~ 0x36) end)
  local opad = key:gsub(".", function(c) return string.char(c:byte() ~ 0x5c) end)
  return M.sha256(opad .. M.sha256(ipad .. msg))
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function M.b64encode(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
    for j = 1, 4 do
      if j <= chars then
        local k = (n >> (6 * (4 - j))) & 63
        out[#out + 1] = B64:sub(k + 1, k + 1)
      else
        out[#out + 1] = "="
      end
    end
  end
  return table.concat(out)
end

function M.b64decode(text)
  text = text:gsub("[^%w%+/]", "")
  local out = {}
  for i = 1, #text, 4 do
    local n, count = 0, 0
    for j = i, math.min(i + 3, #text) do
      n = (n << 6) | (B64:find(text:sub(j, j), 1, true) - 1)
      count = count + 1
    end
    n = n << (6 * (4 - count))
    local bytes = string.char((n >> 16) & 255, (n >> 8) & 255, n & 255)
    out[#out + 1] = bytes:sub(1, count - 1)
  end
  return table.concat(out)
end

-- ------------------------------------------------------------------ Standard Webhooks headers
function M.headers(secret, msg_id, timestamp, body)
  local key = M.b64decode((secret:gsub("^whsec_", "")))
  local signature = M.b64encode(M.hmac_sha256(key, msg_id .. "." .. timestamp .. "." .. body))
  return {
    ["Content-Type"] = "application/json",
    ["webhook-id"] = msg_id,
    ["webhook-timestamp"] = tostring(timestamp),
    ["webhook-signature"] = "v1," .. signature,
  }
end

local function json_string(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function M.body(study, version, aet)
  return "{" .. '"study":' .. json_string(study) .. ',"version":' .. json_string(version)
      .. ',"aet":' .. json_string(aet) .. "}"
end

-- ------------------------------------------------------------------ Orthanc callback
local function calling_aet(studyId)
  local ok, aet = pcall(function()
    local study = ParseJson(RestApiGet('/studies/' .. studyId))
    local series = ParseJson(RestApiGet('/series/' .. study['Series'][1]))
    return RestApiGet('/instances/' .. series['Instances'][1] .. '/metadata/RemoteAET')
  end)
  return (ok and aet) or ""
end

function OnStableStudy(studyId, tags, metadata)
  local url, secret = os.getenv('DWCODER_PACS_URL'), os.getenv('DWCODER_PACS_SECRET')
  if os.getenv('DWCODER_NOTIFY_DISABLED') == '1' or not url or not secret then
    return
  end
  local version = (metadata and metadata['LastUpdate']) or ''
  local body = M.body(tags['StudyInstanceUID'], version, calling_aet(studyId))
  local headers = M.headers(secret, 'orthanc-' .. studyId .. '-' .. version:gsub('[^%w]', ''), os.time(), body)
  local ok = pcall(HttpPost, url, body, headers)
  if not ok then
    print('dwcoder: notification not delivered (the reconciler will catch the study up)')
  end
end

DwcoderNotify = M  -- for tests (deploy/orthanc/test_vectors.lua) and other scripts
return M
