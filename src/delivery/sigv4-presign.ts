// AWS Signature Version 4 in the query string ("presigned URL"), the one form of it the gateway
// needs: a GET or HEAD of one object, signed for the Host header only, so nginx can fetch the
// object without ever holding the secret key. Written against AWS's published algorithm and its
// examples (test/unit/sigv4-presign.test.ts) rather than taken from the AWS SDK: the SDK's presigner
// pulls in dozens of packages for these sixty lines, and what matters here, the exact encoding of
// hostile object keys, is easier to keep right in code we can read in one screen.
import { createHash, createHmac } from 'node:crypto'

export interface SigningCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** Temporary credentials (STS) come with a token that is signed into the URL. */
  readonly sessionToken: string | undefined
}

export interface PresignRequest {
  readonly method: 'GET' | 'HEAD'
  /** `http:` or `https:`. */
  readonly protocol: string
  /** As sent in the Host header: the port only when it is not the scheme's default. */
  readonly host: string
  /** Already encoded with encodePathForS3: exactly the bytes that go on the request line. */
  readonly encodedPath: string
  readonly region: string
  readonly expiresSeconds: number
  readonly now: Date
  /** More parameters to sign (response-content-type, ...), unencoded. */
  readonly extraQuery?: readonly (readonly [string, string])[]
}

/**
 * RFC 3986 percent-encoding of everything but the unreserved characters, on UTF-8 bytes, with
 * upper-case hex: SigV4's UriEncode. encodeURIComponent keeps `!'()*` as they are, which S3 would
 * then sign in their encoded form, so those are encoded here as well.
 */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${(c.codePointAt(0) as number).toString(16).toUpperCase()}`,
  )
}

/** An object key as a URL path: every segment encoded, the `/` between them kept. */
export function encodePathForS3(key: string): string {
  return key.split('/').map(uriEncode).join('/')
}

/** `20130524T000000Z`, SigV4's timestamp. */
export function amzDate(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}

// The signing key depends only on the secret, the day and the region: one derivation a day per
// root instead of four HMACs on every download.
const signingKeys = new Map<string, Buffer>()

/** SigV4's kSigning for one day, region and service. */
export function deriveSigningKey(
  secretAccessKey: string,
  day: string,
  region: string,
  service: string,
): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), region), service), 'aws4_request')
}

function s3SigningKey(secretAccessKey: string, day: string, region: string): Buffer {
  const memo = `${day}\n${region}\n${secretAccessKey}`
  let key = signingKeys.get(memo)
  if (key === undefined) {
    key = deriveSigningKey(secretAccessKey, day, region, 's3')
    // Days and keys change slowly; a full map means rotation or many roots, so start over.
    if (signingKeys.size >= 64) signingKeys.clear()
    signingKeys.set(memo, key)
  }
  return key
}

/** The presigned URL: `<protocol>//<host><encodedPath>?<signed query>&X-Amz-Signature=...`. */
export function presignUrl(request: PresignRequest, credentials: SigningCredentials): string {
  const date = amzDate(request.now)
  const day = date.slice(0, 8)
  const scope = `${day}/${request.region}/s3/aws4_request`
  const params: [string, string][] = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${credentials.accessKeyId}/${scope}`],
    ['X-Amz-Date', date],
    ['X-Amz-Expires', String(request.expiresSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
  ]
  if (credentials.sessionToken !== undefined) params.push(['X-Amz-Security-Token', credentials.sessionToken])
  for (const [name, value] of request.extraQuery ?? []) params.push([name, value])
  // Sorted by encoded name (code point order), then by encoded value.
  const encoded = params.map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
  encoded.sort(([an, av], [bn, bv]) => (an !== bn ? compare(an, bn) : compare(av, bv)))
  const query = encoded.map(([name, value]) => `${name}=${value}`).join('&')
  const canonicalRequest = [
    request.method,
    request.encodedPath,
    query,
    `host:${request.host}\n`,
    'host',
    'UNSIGNED-PAYLOAD',
  ].join('\n')
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    date,
    scope,
    createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n')
  const signature = createHmac('sha256', s3SigningKey(credentials.secretAccessKey, day, request.region))
    .update(stringToSign, 'utf8')
    .digest('hex')
  return `${request.protocol}//${request.host}${request.encodedPath}?${query}&X-Amz-Signature=${signature}`
}
