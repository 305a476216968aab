// The headers nginx acts on when the gateway's reply carries them (docs/nginx-behaviour.md,
// sections 1 and 6). Only the allowed download may carry any of them: delivery writes them there,
// and the http layer's guard strips them from every other reply.
export const ACCEL_HEADERS = [
  'x-accel-redirect',
  'x-accel-limit-rate',
  'x-accel-buffering',
  'x-accel-charset',
  'x-accel-expires',
] as const
