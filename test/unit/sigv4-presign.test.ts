// The presigner against AWS's own published examples (the signing-key derivation and the
// presigned GET of the S3 documentation), and the encoding of keys S3 reads back byte for byte.
import t from 'tap'
import { deriveSigningKey, encodePathForS3, presignUrl, uriEncode } from '../../src/delivery/sigv4-presign.js'

t.test('the signing key of the SigV4 documentation example (iam, us-east-1, 20120215)', async (t) => {
  const key = deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam')
  t.equal(key.toString('hex'), 'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d')
})

t.test("S3's presigned GET example: examplebucket/test.txt, 24 hours from 20130524T000000Z", async (t) => {
  const url = presignUrl(
    {
      method: 'GET',
      protocol: 'https:',
      host: 'examplebucket.s3.amazonaws.com',
      encodedPath: '/test.txt',
      region: 'us-east-1',
      expiresSeconds: 86400,
      now: new Date('2013-05-24T00:00:00Z'),
    },
    {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      sessionToken: undefined,
    },
  )
  t.equal(
    url,
    'https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
      '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
      '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
      '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
  )
})

t.test('a session token and extra parameters are signed in sorted order', async (t) => {
  const base = {
    method: 'GET' as const,
    protocol: 'http:',
    host: '127.0.0.1:9000',
    encodedPath: '/b/k',
    region: 'us-east-1',
    expiresSeconds: 60,
    now: new Date('2024-01-02T03:04:05Z'),
  }
  const credentials = { accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'tok+en/=' }
  const url = new URL(
    presignUrl({ ...base, extraQuery: [['response-content-type', 'image/svg+xml']] }, credentials),
  )
  t.same(
    [...url.searchParams.keys()],
    [
      'X-Amz-Algorithm',
      'X-Amz-Credential',
      'X-Amz-Date',
      'X-Amz-Expires',
      'X-Amz-Security-Token',
      'X-Amz-SignedHeaders',
      'response-content-type',
      'X-Amz-Signature',
    ],
  )
  t.equal(url.searchParams.get('X-Amz-Security-Token'), 'tok+en/=')
  t.match(url.search, /X-Amz-Security-Token=tok%2Ben%2F%3D&/)
  t.match(url.search, /response-content-type=image%2Fsvg%2Bxml&/)
  const head = presignUrl({ ...base, method: 'HEAD' }, credentials)
  const get = presignUrl(base, credentials)
  t.not(head, get, 'the method is part of the signature')
})

t.test('keys are encoded as RFC 3986 on UTF-8, "/" kept, upper-case hex', async (t) => {
  t.equal(uriEncode("a b+c%d?e#f!g'h(i)j*k~l-m_n.o"), 'a%20b%2Bc%25d%3Fe%23f%21g%27h%28i%29j%2Ak~l-m_n.o')
  t.equal(uriEncode('été'), '%C3%A9t%C3%A9')
  t.equal(uriEncode('😀'), '%F0%9F%98%80')
  t.equal(encodePathForS3('dir one/sub+dir/file name.pdf'), 'dir%20one/sub%2Bdir/file%20name.pdf')
})
