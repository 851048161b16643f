import { generateKeyPairSync } from "crypto";
import { describe, expect, it } from "vitest";
import { sshKeyProblem } from "../../../infra/input/git-key";

/** An OpenSSH-format private key (openssh-key-v1) whose first public key has the given type. */
function openSshKey(type: string): string {
  const s = (b: Buffer | string) => {
    const buf = typeof b === "string" ? Buffer.from(b, "latin1") : b;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    return Buffer.concat([len, buf]);
  };
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1);
  const blob = s(Buffer.concat([s(type), s(Buffer.alloc(32, 7))]));
  const body = Buffer.concat([Buffer.from("openssh-key-v1\0", "latin1"), s("none"), s("none"), s(""), count, blob, s(Buffer.alloc(64, 1))]);
  const lines = body.toString("base64").match(/.{1,70}/g)!.join("\n");
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

const rsaPem = generateKeyPairSync("rsa", { modulusLength: 1024, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
const ecPem = generateKeyPairSync("ec", { namedCurve: "prime256v1", privateKeyEncoding: { type: "sec1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
const ed25519Pkcs8 = generateKeyPairSync("ed25519", { privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;

describe("SSH keys Kestra's git plugin (JGit with JSch) can read", () => {
  it("accepts PEM RSA and ECDSA keys, also with CRLF line ends", () => {
    expect(sshKeyProblem(rsaPem)).toBeUndefined();
    expect(sshKeyProblem(ecPem)).toBeUndefined();
    expect(sshKeyProblem(ecPem.replace(/\n/g, "\r\n"))).toBeUndefined();
  });

  it("refuses OpenSSH-format keys, naming ed25519 when the key is one, and says how to make a PEM key", () => {
    const ed = sshKeyProblem(openSshKey("ssh-ed25519"))!;
    expect(ed).toMatch(/^is an ed25519 key in the OpenSSH format: Kestra's git plugin \(JGit with JSch\) reads only PEM keys/);
    expect(ed).toContain("ssh-keygen -t ecdsa -b 256 -m PEM");
    expect(sshKeyProblem(openSshKey("ssh-rsa"))).toMatch(/^is a key in the OpenSSH format \(ssh-rsa\)/);
    expect(sshKeyProblem("-----BEGIN OPENSSH PRIVATE KEY-----\nnot base64 at all\n-----END OPENSSH PRIVATE KEY-----\n")).toMatch(/^is a key in the OpenSSH format:/);
  });

  it("refuses PKCS#8, public keys, truncated keys and anything else, never echoing the key", () => {
    expect(sshKeyProblem(ed25519Pkcs8)).toMatch(/^is a PKCS#8 key \(PRIVATE KEY\)/);
    expect(sshKeyProblem("ssh-ed25519 AAAAC3Nza secret-comment")).toMatch(/^is a public key/);
    expect(sshKeyProblem(rsaPem.split("-----END")[0])).toMatch(/^is cut short/);
    const junk = sshKeyProblem("hunter2-not-a-key")!;
    expect(junk).toMatch(/^is not a PEM private key/);
    expect(junk).not.toContain("hunter2");
  });
});
