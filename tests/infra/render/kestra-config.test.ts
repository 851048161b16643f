import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderKestraConfig, type KestraConfigInput } from "../../../infra/render/kestra-config";
import { minioStorageBlock, s3StorageBlock } from "../../../infra/render/storage";

const base: KestraConfigInput = {
  url: "https://acme-kestra.example.com/",
  database: { host: "postgres", port: 5432, name: "kestra_acme", username: "kestra_acme", password: "db-pass" },
  dbPool: 10,
  storage: minioStorageBlock("kestra-acme", { accessKey: "kestra-acme", secretKey: "s3-secret" }),
  adminEmail: "ana@acme.com",
  adminPassword: "Admin-Pass1",
  encryptionKey: Buffer.alloc(32, 7).toString("base64"),
  webhooksPublic: false,
};

describe("Kestra application.yml", () => {
  const cfg = parse(renderKestraConfig(base));

  it("uses Postgres for repository and queue, through the hyphen-free alias", () => {
    expect(cfg.kestra.repository).toEqual({ type: "postgres" });
    expect(cfg.kestra.queue).toEqual({ type: "postgres" });
    expect(cfg.datasources.postgres).toEqual({
      url: "jdbc:postgresql://postgres:5432/kestra_acme",
      "driver-class-name": "org.postgresql.Driver",
      username: "kestra_acme",
      password: "db-pass",
      // The pool the managed role's connection limit counts on (infra/model/profiles.ts dbConnectionLimit).
      "maximum-pool-size": 10,
    });
  });

  it("sets the public URL with a trailing slash (kestra.url, not server.base-url)", () => {
    expect(cfg.kestra.url).toBe("https://acme-kestra.example.com/");
    expect(cfg.kestra.server["base-url"]).toBeUndefined();
  });

  it("configures basic auth with the tenant's admin and no open URLs by default", () => {
    expect(cfg.kestra.server["basic-auth"]).toEqual({ username: "ana@acme.com", password: "Admin-Pass1" });
  });

  it("opens both webhook path forms only for public webhooks", () => {
    const pub = parse(renderKestraConfig({ ...base, webhooksPublic: true }));
    expect(pub.kestra.server["basic-auth"]["open-urls"]).toEqual(["/api/v1/main/executions/webhook/", "/api/v1/executions/webhook/"]);
  });

  it("keeps the 32-byte encryption key, tutorials and usage report off", () => {
    expect(Buffer.from(cfg.kestra.encryption["secret-key"], "base64")).toHaveLength(32);
    expect(cfg.kestra["tutorial-flows"]).toEqual({ enabled: false });
    expect(cfg.kestra["anonymous-usage-report"]).toEqual({ enabled: false });
  });

  it("closes every management endpoint to anonymous callers except health", () => {
    // Kestra's own application.yml sets endpoints.all.sensitive: false (metrics, prometheus and info
    // then answer anyone who reaches port 8081).
    expect(cfg.endpoints.all).toEqual({ port: 8081, sensitive: true });
    expect(cfg.endpoints.health).toEqual({ sensitive: false });
    for (const [name, v] of Object.entries(cfg.endpoints as Record<string, Record<string, unknown>>)) {
      if (name !== "health") expect(v.sensitive, name).not.toBe(false);
    }
    expect(cfg.endpoints.env).toEqual({ enabled: false });
    expect(cfg.endpoints.loggers).toEqual({ enabled: false });
    expect(cfg.endpoints.all["basic-auth"]).toBeUndefined(); // it would lock /health too
  });

  it("runs script tasks with the Process task runner (the containers have no Docker socket)", () => {
    expect(cfg.kestra.plugins.defaults).toEqual([
      { type: "io.kestra.plugin.scripts", forced: false, values: { taskRunner: { type: "io.kestra.plugin.core.runner.Process" } } },
    ]);
    // Kestra matches a default whose type is a prefix of the task's type.
    for (const task of ["io.kestra.plugin.scripts.python.Script", "io.kestra.plugin.scripts.shell.Commands", "io.kestra.plugin.scripts.node.Script"]) {
      expect(task.startsWith(cfg.kestra.plugins.defaults[0].type)).toBe(true);
    }
    expect(renderKestraConfig(base)).not.toMatch(/[&*]a\d/); // no YAML anchors or aliases
  });

  it("puts the tenant's bucket and scoped key in the MinIO storage block", () => {
    expect(cfg.kestra.storage).toEqual({
      type: "minio",
      minio: { endpoint: "minio", port: 9000, secure: false, accessKey: "kestra-acme", secretKey: "s3-secret", region: "us-east-1", bucket: "kestra-acme", vhost: false },
    });
  });

  it("renders the AWS block with the region's endpoint", () => {
    const aws = parse(renderKestraConfig({ ...base, storage: s3StorageBlock("kestra-acme", "eu-west-1", { accessKey: "AK", secretKey: "SK" }) }));
    expect(aws.kestra.storage).toEqual({
      type: "s3",
      s3: { endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1", bucket: "kestra-acme", accessKey: "AK", secretKey: "SK" },
    });
  });

  it("points a managed database at the external server with its sslmode", () => {
    const m = parse(renderKestraConfig({ ...base, database: { host: "db.example.com", port: 5433, name: "kestra_acme", username: "kestra_acme", password: "p", sslmode: "require" } }));
    expect(m.datasources.postgres.url).toBe("jdbc:postgresql://db.example.com:5433/kestra_acme?sslmode=require");
  });
});
