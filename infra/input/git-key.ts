/**
 * The SSH private key formats Kestra's git plugin can read. plugin-git clones with JGit over the
 * original JSch (com.jcraft:jsch), which reads the traditional PEM encodings of RSA and ECDSA keys
 * (`-----BEGIN RSA PRIVATE KEY-----`, `-----BEGIN EC PRIVATE KEY-----`) and neither the OpenSSH key
 * format (`-----BEGIN OPENSSH PRIVATE KEY-----`, ssh-keygen's default since OpenSSH 7.8) nor ed25519
 * keys at all: every sync would fail with "invalid privatekey" (see shared platform facts, "git plugin").
 * Pure: the key's text is inspected here and never echoed in a message.
 */

/** What an operator runs to make a key the plugin reads. */
export const SSH_KEYGEN_HINT = "generate one with `ssh-keygen -t ecdsa -b 256 -m PEM -f kestra_deploy_key` (or RSA: `ssh-keygen -t rsa -b 4096 -m PEM -f kestra_deploy_key`)";

const PEM_ACCEPTED = ["RSA PRIVATE KEY", "EC PRIVATE KEY"] as const;

/** The key type written inside an OpenSSH-format key (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`), if readable. */
function openSshKeyType(text: string): string | undefined {
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)?.[1];
  if (!body) return undefined;
  const bytes = Buffer.from(body.replace(/\s+/g, ""), "base64");
  // "openssh-key-v1\0", then ciphername, kdfname, kdfoptions (each a uint32-length string), a uint32 key
  // count, and the first public key blob, which starts with its type as a length-prefixed string.
  const magic = "openssh-key-v1\0";
  if (bytes.subarray(0, magic.length).toString("latin1") !== magic) return undefined;
  let at = magic.length;
  const str = (): Buffer | undefined => {
    if (at + 4 > bytes.length) return undefined;
    const len = bytes.readUInt32BE(at);
    if (at + 4 + len > bytes.length) return undefined;
    const out = bytes.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    return out;
  };
  for (let i = 0; i < 3; i++) if (!str()) return undefined;
  at += 4; // number of keys
  const blob = str();
  if (!blob || blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  const type = blob.subarray(4, 4 + len).toString("latin1");
  return /^[a-z0-9@.-]{1,64}$/.test(type) ? type : undefined;
}

/**
 * Why a tenant's SSH key cannot be used by Kestra's git plugin, or undefined when it can.
 * The message says what the key is and how to make one that works.
 */
export function sshKeyProblem(key: string): string | undefined {
  const text = key.replace(/\r\n/g, "\n");
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  if (label === "OPENSSH PRIVATE KEY") {
    const type = openSshKeyType(text);
    const what = type === "ssh-ed25519" ? "an ed25519 key in the OpenSSH format" : `a key in the OpenSSH format${type ? ` (${type})` : ""}`;
    return `is ${what}: Kestra's git plugin (JGit with JSch) reads only PEM keys and no ed25519; ${SSH_KEYGEN_HINT}`;
  }
  if (label && /OPENSSH|ED25519/.test(label)) {
    return `is an OpenSSH/ed25519 key (${label}): Kestra's git plugin (JGit with JSch) reads only PEM RSA or ECDSA keys; ${SSH_KEYGEN_HINT}`;
  }
  if (label && (PEM_ACCEPTED as readonly string[]).includes(label)) {
    if (!new RegExp(`-----END ${label}-----`).test(text)) return `is cut short: the PEM key has no "-----END ${label}-----" line; set the whole file`;
    return undefined;
  }
  if (label === "PRIVATE KEY" || label === "ENCRYPTED PRIVATE KEY") {
    return `is a PKCS#8 key (${label}): use the traditional PEM format Kestra's git plugin is known to read; ${SSH_KEYGEN_HINT}`;
  }
  if (/^ssh-|^ecdsa-sha2-|^sk-/.test(text.trim())) return `is a public key: set the private key; ${SSH_KEYGEN_HINT}`;
  return `is not a PEM private key (no "-----BEGIN RSA PRIVATE KEY-----" or "-----BEGIN EC PRIVATE KEY-----" line); ${SSH_KEYGEN_HINT}`;
}
