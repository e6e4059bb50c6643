declare module 'unbzip2-stream' {
  import type { Transform } from 'node:stream';

  /** A transform stream that decompresses bzip2. */
  function unbzip2(): Transform;
  export = unbzip2;
}
