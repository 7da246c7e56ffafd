// cluster-key-slot ships no types. It is the CRC16 slot function ioredis itself uses.
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0-16383) of a key, honouring {hash tags}. */
  function calculateSlot(key: string | Buffer): number;
  namespace calculateSlot {
    /** The common slot of several keys, or -1 when they differ. */
    function generateMulti(keys: readonly (string | Buffer)[]): number;
  }
  export = calculateSlot;
}
