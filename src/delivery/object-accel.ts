// The allowed reply for a file in object storage: the same empty 200 as for a file on disk, with
// the presigned URL in a header of its own and X-Accel-Redirect naming the object-storage location,
// where nginx proxies to that URL (nginx/templates/download.conf.template, docs/object-storage.md).
import {
  accelHeadersBeforeRedirect,
  accelRedirectTarget,
  contentTypeFor,
  type DeliveryPolicy,
} from './accel-headers.js'
import { type ChosenObject, presignedObjectUrl } from './object-roots.js'

/**
 * The internal location of every bucket root, without slashes. The root's name follows it in the
 * redirect target, for nginx's logs; nginx takes the object from the URL header, never from this
 * path, which it would re-escape in its own way (docs/nginx-behaviour.md §7).
 */
export const OBJECT_STORAGE_PREFIX = '_s3'

/**
 * The presigned URL. Not one of the six headers nginx keeps after the redirect, so it never reaches
 * the client; the internal location copies it into a variable before it proxies (§9).
 */
export const ACCEL_OBJECT_URL_HEADER = 'x-download-object-url'

/** As accelReplyHeaders: X-Accel-Redirect last, the URL it depends on just before it. */
export function objectAccelReplyHeaders(
  chosen: ChosenObject,
  segments: readonly string[],
  policy: DeliveryPolicy,
  method: 'GET' | 'HEAD',
  now: Date,
): string[] {
  const list = accelHeadersBeforeRedirect(segments, policy)
  list.push(
    ACCEL_OBJECT_URL_HEADER,
    presignedObjectUrl(chosen, method, contentTypeFor(segments[segments.length - 1] as string), now),
  )
  list.push(
    'x-accel-redirect',
    accelRedirectTarget(`${OBJECT_STORAGE_PREFIX}/${chosen.root.name}`, chosen.below),
  )
  return list
}
