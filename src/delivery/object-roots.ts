// Roots in object storage: which bucket serves a path, and the presigned URL nginx fetches it with.
// The decision never looks here: it is made on the whole canonical path, the same whichever root
// the file then comes from; this only picks where the bytes are.
import { encodePathForS3, presignUrl, type SigningCredentials } from './sigv4-presign.js'

export interface ObjectRoot {
  /** Names the root in the X-Accel-Redirect target, in nginx's logs and in its env variables. */
  readonly name: string
  /** The canonical path segments a request must start with (`archive/2023/` -> archive, 2023). */
  readonly prefix: readonly string[]
  readonly bucket: string
  readonly protocol: 'http:' | 'https:'
  /** What the Host header carries: the endpoint's host, or the bucket's own name on it (virtual). */
  readonly host: string
  /** `/<bucket>` in path style, empty in virtual-hosted style. */
  readonly pathBase: string
  readonly region: string
  /** Put before the path below the prefix to make the object key. */
  readonly keyPrefix: string
  readonly expiresSeconds: number
  readonly credentials: SigningCredentials
}

export interface ChosenObject {
  readonly root: ObjectRoot
  /** The object key: the root's key prefix and the segments below its path prefix. */
  readonly key: string
  /** The segments below the prefix, for the redirect target. */
  readonly below: readonly string[]
}

/**
 * The root whose prefix the path lies under, the longest prefix winning (`roots` is given longest
 * first); undefined for the default root on disk. A prefix names a folder: `archive/` takes
 * `archive/x`, never a file named `archive` nor `archived/x`. Compared in Unicode NFC, as the rules
 * are, so both spellings of an accented folder name reach the same root.
 */
export function chooseObjectRoot(
  roots: readonly ObjectRoot[],
  segments: readonly string[],
): ChosenObject | undefined {
  for (const root of roots) {
    const { prefix } = root
    if (segments.length <= prefix.length) continue
    let under = true
    for (let i = 0; i < prefix.length; i++) {
      const segment = segments[i] as string
      if (segment !== prefix[i] && segment.normalize('NFC') !== prefix[i]) {
        under = false
        break
      }
    }
    if (!under) continue
    const below = segments.slice(prefix.length)
    return { root, below, key: root.keyPrefix + below.join('/') }
  }
  return undefined
}

/**
 * The URL nginx fetches the object with, valid for the root's expiry from `now`. HEAD is signed as
 * HEAD: nginx passes the client's method on, and S3 signs the method. The object comes back with
 * the gateway's Content-Type whatever type it was stored with (response-content-type).
 */
export function presignedObjectUrl(
  chosen: ChosenObject,
  method: 'GET' | 'HEAD',
  contentType: string,
  now: Date,
): string {
  const { root } = chosen
  return presignUrl(
    {
      method,
      protocol: root.protocol,
      host: root.host,
      encodedPath: `${root.pathBase}/${encodePathForS3(chosen.key)}`,
      region: root.region,
      expiresSeconds: root.expiresSeconds,
      now,
      extraQuery: [['response-content-type', contentType]],
    },
    root.credentials,
  )
}
