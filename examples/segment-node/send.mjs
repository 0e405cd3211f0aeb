// Sends one identify, track, page, group and alias call to an Atrium server
// with Segment's official Node.js client, then flushes and exits. Atrium
// speaks the Segment tracking API, so the only change from sending to Segment
// is the host.
//
//   npm install
//   node send.mjs http://127.0.0.1:8080 wk_yourWriteKey
//   # or: ATRIUM_HOST=http://127.0.0.1:8080 ATRIUM_WRITE_KEY=wk_... node send.mjs
//
// Optional: ATRIUM_USER_ID, ATRIUM_ANONYMOUS_ID, ATRIUM_EMAIL choose who the
// calls are about. The exit code is 0 only when Atrium acknowledged every call.
import { Analytics } from '@segment/analytics-node'

const host = process.argv[2] || process.env.ATRIUM_HOST || 'http://127.0.0.1:8080'
const writeKey = process.argv[3] || process.env.ATRIUM_WRITE_KEY
const userId = process.env.ATRIUM_USER_ID || 'node-user-1'
const anonymousId = process.env.ATRIUM_ANONYMOUS_ID || 'node-anon-1'
const email = process.env.ATRIUM_EMAIL || 'Node.User@Example.com'

if (!writeKey) {
  console.error('usage: node send.mjs HOST WRITE_KEY (or set ATRIUM_HOST and ATRIUM_WRITE_KEY)')
  process.exit(2)
}

const analytics = new Analytics({
  writeKey,
  host, // Atrium's address instead of https://api.segment.io
  path: '/v1/batch', // the client's default, spelled out: Atrium serves it
  flushAt: 20,
  flushInterval: 1000,
  maxRetries: 3,
})

let failures = 0
analytics.on('error', (err) => {
  failures++
  console.error('delivery failed:', err.code ?? '', err.reason?.message ?? err.reason ?? '')
})
analytics.on('http_response', (res) => {
  if (res.status >= 300) {
    failures++
    console.error(`Atrium answered ${res.status} ${res.statusText}`)
  }
})

analytics.identify({ userId, anonymousId, traits: { email, name: 'Node User', plan: 'pro' } })
analytics.track({ userId, event: 'Order Completed', properties: { total: 42.5, currency: 'EUR' } })
analytics.page({ userId, name: 'Pricing', properties: { url: `${host}/pricing`, path: '/pricing' } })
analytics.group({ userId, groupId: 'acme-node', traits: { name: 'Acme', employees: 40 } })
analytics.alias({ userId, previousId: anonymousId })

await analytics.closeAndFlush({ timeout: 15000 })
if (failures > 0) {
  process.exit(1)
}
console.log(`sent identify, track, page, group and alias to ${host}`)
