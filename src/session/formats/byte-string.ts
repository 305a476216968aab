// A string of bytes that is not text: a PHP string that is not valid UTF-8, or Python `bytes`.
// Handed out as its own immutable type rather than a Buffer because a typed array cannot be frozen,
// and a decoded session is shared by readers that must not change it. Copies go in and out.
export class ByteString {
  readonly #bytes: Uint8Array

  constructor(bytes: Uint8Array) {
    this.#bytes = new Uint8Array(bytes)
    Object.freeze(this)
  }

  get length(): number {
    return this.#bytes.length
  }

  /** A copy of the bytes. */
  toBytes(): Uint8Array {
    return this.#bytes.slice()
  }

  toHex(): string {
    return this.#view().toString('hex')
  }

  equals(other: ByteString): boolean {
    return this.#view().equals(other.#view())
  }

  #view(): Buffer {
    return Buffer.from(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.length)
  }
}
