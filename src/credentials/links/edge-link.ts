// Edge links: like a share link, but checked by nginx alone (nginx/njs/edge-link.js), so the
// download never reaches a gateway. Expiry-only by design: nothing is stored, so one link cannot be
// revoked or counted; removing its key refuses every link it signed.
//
// Wire form: `/edge/<the file's URL path>?gwe=<kid>.<payload>.<mac>`, payload base64url of a JSON
// object, mac base64url of HMAC-SHA256(key[kid], `gwe1.<kid>.<payload>`). `gwe1` keeps a MAC made
// for one kind of link from ever verifying as the other, even under a key wrongly listed in both.
//
// The payload carries the download's headers as the gateway computed them when it issued the link
// (from the rules' response policy for that path): nginx copies them, so an edge download answers
// with exactly the Content-Type, Content-Disposition and Cache-Control a session download of the
// file gets, and no second implementation of file-name quoting or MIME types has to agree with
// ours. It is also why edge links name one file, never a folder.
import { createHmac } from 'node:crypto'
import { accelReplyHeaders, type DeliveryPolicy } from '../../delivery/accel-headers.js'
import type { LinkKeyRing } from './link-keys.js'

/** The URL prefix nginx's edge location answers under (nginx/edge-links.conf). */
export const EDGE_ROUTE_PREFIX = '/edge/'
/** The one query parameter of an edge link. */
export const EDGE_PARAM = 'gwe'

export interface EdgeLinkClaims {
  /** Random, public: names the link in the issuing log line. */
  readonly id: string
  /** The file's exact path below the files root (decoded, not NFC-normalised): what nginx serves. */
  readonly path: string
  /** Unix seconds. */
  readonly expiresAt: number
  readonly contentType: string
  readonly disposition: string
  readonly cacheControl: string
  /** Bytes per second; 0 = unlimited. */
  readonly limitRate: number
}

/** The headers a session download of `segments` gets under `policy`, as the link carries them. */
export function edgeDeliveryOf(
  segments: readonly string[],
  policy: DeliveryPolicy,
): Pick<EdgeLinkClaims, 'contentType' | 'disposition' | 'cacheControl' | 'limitRate'> {
  // The very list an x-accel reply is built from: the two cannot drift apart.
  const headers = new Map<string, string>()
  const list = accelReplyHeaders('_', segments, policy)
  for (let i = 0; i < list.length; i += 2) headers.set(list[i] as string, list[i + 1] as string)
  return {
    contentType: headers.get('content-type') as string,
    disposition: headers.get('x-download-disposition') as string,
    cacheControl: headers.get('x-download-cache-control') as string,
    limitRate: policy.limitRate,
  }
}

function mac(secret: string, kid: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`gwe1.${kid}.${payload}`).digest()
}

/** Signs `claims` with the ring's newest key: `<kid>.<payload>.<mac>`. */
export function signEdgeLink(claims: EdgeLinkClaims, ring: LinkKeyRing): string {
  const body: Record<string, unknown> = {
    i: claims.id,
    p: claims.path,
    e: claims.expiresAt,
    t: claims.contentType,
    d: claims.disposition,
    c: claims.cacheControl,
  }
  if (claims.limitRate > 0) body.r = claims.limitRate
  const payload = Buffer.from(JSON.stringify(body), 'utf8').toString('base64url')
  const kid = ring.newest.kid
  return `${kid}.${payload}.${mac(ring.newest.secret, kid, payload).toString('base64url')}`
}

/**
 * The URL path and query of an edge link: every segment percent-encoded as the gateway's own
 * links are, which is also the one spelling nginx's check accepts.
 */
export function edgeLinkUrl(path: string, token: string): string {
  const rel = path.slice(1).split('/').map(encodeURIComponent).join('/')
  return `${EDGE_ROUTE_PREFIX}${rel}?${EDGE_PARAM}=${token}`
}
