import { describe, expect, it } from "vitest";
import { cronProblem } from "../../../infra/input/cron";
import { emailDomainProblem } from "../../../infra/input/fields";
import { gitUrlProblem } from "../../../infra/input/git-url";

describe("git URLs: the exact string that is deployed", () => {
  const accepted = [
    "https://github.com/acme/kestra-flows.git",
    "https://gitlab.example.com:8443/group/sub/flows.git",
    "https://8.8.8.8/acme/flows.git",
    "https://[2606:4700::1111]/acme/flows.git",
    "ssh://git@github.com/acme/flows.git",
    "ssh://git@github.com:2222/acme/flows.git",
    "ssh://github.com/acme/flows.git",
    "git@github.com:acme/kestra-flows.git",
    "git@github.com:/srv/git/flows.git",
  ];
  for (const url of accepted) it(`accepts ${url}`, () => expect(gitUrlProblem(url)).toBeUndefined());

  // [url, start of the message]
  const refused: [string, string][] = [
    ["https://github.com/acme/flows.git\nENV_GIT_SYNC_BRANCH=x", "must not contain whitespace or control characters: found U+000A (LINE FEED)"],
    ["https://github.com/acme/flows.git\r", "must not contain whitespace or control characters: found U+000D"],
    ["https://github.com/acme/\tflows.git", "must not contain whitespace or control characters: found U+0009 (TAB)"],
    ["https://github.com/acme/flows.git\u00a0", "must not contain whitespace or control characters: found U+00A0 (whitespace)"],
    ["https://github.com/acme/fl\u202eows.git", "must not contain whitespace or control characters: found U+202E"],
    ["https://github.com/{{ secret('GIT_TOKEN') }}/x.git", "must not contain a Pebble expression"],
    ["https://github.com/{%raw%}/x.git", "must not contain a Pebble expression"],
    ["https://gіthub.com/acme/flows.git", "must be ASCII"],
    ["ssh://-oProxyCommand=touch%20x/acme/flows.git", "host must not start with '-'"],
    ["ssh://-oProxyCommand=x@github.com/acme/flows.git", "user must not start with '-'"],
    ["-oProxyCommand=x@github.com:acme/flows.git", "user must not start with '-'"],
    ["git@-oProxyCommand=x:acme/flows.git", "host must not start with '-'"],
    ["git@github.com:-oProxyCommand=x", "repository path must not start a segment with '-'"],
    ["ssh://git@github.com/--upload-pack=x", "repository path must not start a segment with '-'"],
    ["https://169.254.169.254/latest/meta-data", "host is a link-local address"],
    ["https://2852039166/latest", "host is an IPv4 address in a non-standard form"],
    ["https://0xA9FEA9FE/latest", "host is an IPv4 address in a non-standard form"],
    ["https://0251.0376.0251.0376/latest", "host is an IPv4 address in a non-standard form"],
    ["https://169.254.43518/latest", "host is an IPv4 address in a non-standard form"],
    ["https://127.0.0.1/x.git", "host is a loopback address"],
    ["https://10.0.0.5/x.git", "host is a private address"],
    ["https://100.100.100.200/x.git", "host is a carrier-grade NAT address"],
    ["https://0.0.0.0/x.git", "host is the unspecified address"],
    ["https://[fd00:ec2::254]/latest", "host is a unique local address"],
    ["https://[fe80::a9fe:a9fe]/latest", "host is a link-local address"],
    ["https://[::ffff:169.254.169.254]/latest", "host is an IPv4-mapped IPv6 address"],
    ["https://[64:ff9b::a9fe:a9fe]/latest", "host is a NAT64 IPv6 address"],
    ["https://[::a9fe:a9fe]/latest", "host is an IPv4-compatible IPv6 address"],
    ["https://[::1]/x.git", "host is a loopback address"],
    ["https://[fe80::1%25eth0]/x.git", "host is not a valid IPv6 address"],
    ["https://localhost/x.git", "host must be a fully qualified public name"],
    ["https://minio:9000/kestra-acme", "host must be a fully qualified public name"],
    ["https://metadata.google.internal/computeMetadata/v1/", "host is a special-use name (.internal)"],
    ["https://git.localhost/x.git", "host is a special-use name (.localhost)"],
    ["https://bot:ghp_x@github.com/acme/flows.git", "credentials do not belong in the URL"],
    ["https://ghp_x@github.com/acme/flows.git", "credentials do not belong in the URL"],
    ["ssh://git:pw@github.com/acme/flows.git", "credentials do not belong in the URL"],
    ["http://github.com/acme/flows.git", "must be an https:// URL"],
    ["file:///etc/passwd", "must be an https:// URL"],
    ["ext::sh -c touch% /tmp/pwned", "must not contain whitespace"],
    ["ext::sh", "must be an https:// URL"],
    ["https://github.com/acme/flows.git?x=1", "must not have a query"],
    ["https://github.com:99999/acme/flows.git", "port must be a number from 1 to 65535"],
    ["https://github.com/", "must name a host and a repository path"],
  ];
  for (const [url, message] of refused) {
    it(`refuses ${JSON.stringify(url)}`, () => expect(gitUrlProblem(url)).toMatch(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`)));
  }
});

describe("email domains of Access rules", () => {
  for (const d of ["acme.com", "acme.co.uk", "mail.acme.com", "kestra.io"]) it(`accepts ${d}`, () => expect(emailDomainProblem(d)).toBeUndefined());
  for (const d of ["gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "proton.me", "gmx.de", "GMAIL.COM"]) {
    it(`refuses the free-mail provider ${d}`, () => expect(emailDomainProblem(d)).toMatch(/^is a free-mail provider/));
  }
  for (const d of ["co.uk", "com", "github.io", "blogspot.com", "com.au"]) {
    it(`refuses the public suffix ${d}`, () => expect(emailDomainProblem(d)).toMatch(/^is a public suffix/));
  }
});

describe("cron: the exact string rendered into the flow", () => {
  it("accepts fields separated by spaces", () => {
    expect(cronProblem("*/15 * * * *")).toBeUndefined();
    expect(cronProblem("0  3 * * MON")).toBeUndefined();
    expect(cronProblem("@hourly")).toBeUndefined();
  });
  it("refuses tabs, newlines and padding", () => {
    expect(cronProblem("*/15\t* * * *")).toBe("fields are separated by spaces only: found U+0009");
    expect(cronProblem("*/15 * * * *\n")).toBe("fields are separated by spaces only: found U+000A");
    expect(cronProblem("@hourly\n- type: x")).toBe("fields are separated by spaces only: found U+000A");
    expect(cronProblem(" */15 * * * *")).toBe("has leading or trailing spaces");
  });
});
