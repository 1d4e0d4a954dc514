import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * A deterministic RSA key pair for the mock runtime (tls:PrivateKey): the same seed gives the same
 * key, so two renders of a stack are identical, and the pair is real, so that an integration test
 * can verify a DKIM signature made with it. Never used outside the mock runtime.
 */
export function mockRsaKey(seed: string, bits = 2048): KeyPair {
  const id = createHash("sha256").update(`${seed}\0${bits}`).digest("hex");
  const cached = cache.get(id) ?? readDiskCache(id);
  if (cached) return cached;
  const result = generate(seed, bits);
  cache.set(id, result);
  writeDiskCache(id, result);
  return result;
}

type KeyPair = { privateKeyPem: string; publicKeyPem: string };

/**
 * The search for primes takes about half a second: its result is kept on disk next to the other
 * tool caches, so that every render after the first on a machine starts fast. The key depends only on
 * the seed, so a cached pair is the pair the search would find.
 */
const DISK_CACHE = path.resolve(__dirname, "..", "node_modules", ".cache", "infra-mock-keys");

function readDiskCache(id: string): KeyPair | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(DISK_CACHE, `${id}.json`), "utf8")) as KeyPair;
  } catch {
    return undefined;
  }
}

function writeDiskCache(id: string, pair: KeyPair): void {
  try {
    fs.mkdirSync(DISK_CACHE, { recursive: true });
    fs.writeFileSync(path.join(DISK_CACHE, `${id}.json`), JSON.stringify(pair), { mode: 0o600 });
  } catch {
    // A read-only checkout only loses the speed-up.
  }
}

function generate(seed: string, bits: number): KeyPair {
  const random = byteStream(seed);
  const e = 65537n;
  let p: bigint, q: bigint, phi: bigint;
  do {
    p = prime(bits / 2, random);
    q = prime(bits / 2, random);
    phi = (p - 1n) * (q - 1n);
  } while (p === q || gcd(e, phi) !== 1n || bitLength(p * q) !== bits);
  if (p < q) [p, q] = [q, p];
  const n = p * q;
  const d = modInverse(e, phi);
  const b64 = (x: bigint) =>
    Buffer.from(x.toString(16).padStart(Math.ceil(x.toString(16).length / 2) * 2, "0"), "hex").toString("base64url");
  const key = createPrivateKey({
    key: {
      kty: "RSA",
      n: b64(n),
      e: b64(e),
      d: b64(d),
      p: b64(p),
      q: b64(q),
      dp: b64(d % (p - 1n)),
      dq: b64(d % (q - 1n)),
      qi: b64(modInverse(q, p)),
    },
    format: "jwk",
  });
  return {
    privateKeyPem: key.export({ type: "pkcs1", format: "pem" }).toString(),
    publicKeyPem: createPublicKey(key).export({ type: "spki", format: "pem" }).toString(),
  };
}

const cache = new Map<string, KeyPair>();

/** SHA-256 in counter mode: an endless, reproducible byte stream. */
function byteStream(seed: string): (bytes: number) => Buffer {
  let counter = 0;
  return (bytes) => {
    const chunks: Buffer[] = [];
    for (let have = 0; have < bytes; have += 32) chunks.push(createHash("sha256").update(`${seed}\0${counter++}`).digest());
    return Buffer.concat(chunks).subarray(0, bytes);
  };
}

const SMALL_PRIMES = (() => {
  const primes: bigint[] = [];
  for (let n = 3; primes.length < 500; n += 2) if (primes.every((p) => n % Number(p) !== 0)) primes.push(BigInt(n));
  return primes;
})();

function prime(bits: number, random: (bytes: number) => Buffer): bigint {
  for (;;) {
    let candidate = BigInt("0x" + random(bits / 8).toString("hex"));
    candidate |= (1n << BigInt(bits - 1)) | (1n << BigInt(bits - 2)) | 1n; // top two bits: p*q has exactly 2x bits
    if (SMALL_PRIMES.some((p) => candidate % p === 0n)) continue;
    if (isProbablePrime(candidate, random)) return candidate;
  }
}

function isProbablePrime(n: bigint, random: (bytes: number) => Buffer): boolean {
  let d = n - 1n;
  let r = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    r++;
  }
  witness: for (let round = 0; round < 20; round++) {
    const a = 2n + (BigInt("0x" + random(16).toString("hex")) % (n - 4n));
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    for (let i = 1; i < r; i++) {
      x = (x * x) % n;
      if (x === n - 1n) continue witness;
    }
    return false;
  }
  return true;
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  base %= modulus;
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
    exponent >>= 1n;
  }
  return result;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [a % m, m];
  let [oldS, s] = [1n, 0n];
  while (r) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  return ((oldS % m) + m) % m;
}

function bitLength(x: bigint): number {
  return x.toString(2).length;
}
