/** Pure helpers of the e2e runner (the suite itself is `npm run e2e`, not part of vitest). */
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { withStandins } from "../../e2e/plan";
import { officialPgdata, STANDIN_BY_ROLE } from "../../e2e/standins";

const stack = (role: string) =>
  stringify({
    version: "3.9",
    services: {
      x: { image: "real/image:1", deploy: { labels: { "kestra-fleet.role": role }, resources: { limits: { cpus: "1", memory: "512M" }, reservations: { cpus: "0.5", memory: "256M" } } } },
    },
  });

describe("e2e stack files", () => {
  it("replace each image by the stand-in of the service's role label and drop reservations only", () => {
    for (const role of ["postgres", "web", "backend", "worker", "storage", "gateway", "prometheus", "socket-proxy"]) {
      const svc = parse(withStandins(stack(role))).services.x;
      expect(svc.image).toBe(STANDIN_BY_ROLE[role]);
      expect(svc.deploy.resources).toEqual({ limits: { cpus: "1", memory: "512M" } });
    }
  });

  it("point a bind mount of the Docker socket at the suite's private engine socket, nothing else", () => {
    const text = stringify({
      services: {
        p: {
          image: "wollomatic/socket-proxy:1",
          volumes: [
            { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", read_only: true },
            { type: "volume", source: "data", target: "/data" },
          ],
          deploy: { labels: { "kestra-fleet.role": "socket-proxy" } },
        },
      },
    });
    const svc = parse(withStandins(text, "/var/tmp/e2e/docker.sock")).services.p;
    expect(svc.image).toBe(STANDIN_BY_ROLE["socket-proxy"]);
    expect(svc.volumes).toEqual([
      { type: "bind", source: "/var/tmp/e2e/docker.sock", target: "/var/run/docker.sock", read_only: true },
      { type: "volume", source: "data", target: "/data" },
    ]);
    expect(parse(withStandins(text)).services.p.volumes[0].source).toBe("/var/run/docker.sock");
  });

  it("leave out a service whose role has no stand-in (the runner names it)", () => {
    expect(parse(withStandins(stack("proxy"))).services).toEqual({});
  });

  it("give the Postgres stand-in the official image's PGDATA for the pinned major", () => {
    expect(officialPgdata("postgres:18.1")).toBe("/var/lib/postgresql/18/docker");
    expect(officialPgdata("postgres:17.6@sha256:abc")).toBe("/var/lib/postgresql/data");
  });
});
