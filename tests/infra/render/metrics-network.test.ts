/** net_monitoring_proxy's subnet: the checks and the gateway (the first host, as Swarm's IPAM fills it). */
import { describe, expect, it } from "vitest";
import { DEFAULT_PROXY_METRICS_SUBNET, proxyMetricsGateway, proxyMetricsNetworkName, proxyMetricsSubnetProblem } from "../../../infra/render/metrics-network";

describe("proxy metrics subnet", () => {
  it("the default is a valid /26 outside Swarm's first allocations and Docker's local pools", () => {
    expect(DEFAULT_PROXY_METRICS_SUBNET).toBe("10.254.254.0/26");
    expect(proxyMetricsSubnetProblem(DEFAULT_PROXY_METRICS_SUBNET)).toBeUndefined();
  });
  it("gateway: the subnet's first host", () => {
    expect(proxyMetricsGateway("10.254.254.0/26")).toBe("10.254.254.1");
    expect(proxyMetricsGateway("10.254.254.64/26")).toBe("10.254.254.65");
    expect(proxyMetricsGateway("192.168.0.0/16")).toBe("192.168.0.1");
    expect(proxyMetricsGateway("172.31.255.240/28")).toBe("172.31.255.241");
  });
  it("refuses a host address (names the network address), a prefix out of /16../28, IPv6 and junk", () => {
    expect(proxyMetricsSubnetProblem("10.254.254.1/26")).toBe("is not a network address: write 10.254.254.0/26");
    expect(proxyMetricsSubnetProblem("10.254.254.70/26")).toBe("is not a network address: write 10.254.254.64/26");
    expect(proxyMetricsSubnetProblem("10.0.0.0/15")).toBe("must be a /16 to /28 range");
    expect(proxyMetricsSubnetProblem("10.0.0.0/29")).toBe("must be a /16 to /28 range");
    for (const bad of ["fd00::/64", "10.254.254.0", "10.254.256.0/24", "010.254.254.0/24", "10.254.254.0/33", " 10.254.254.0/26", ""]) {
      expect(proxyMetricsSubnetProblem(bad), bad).toBe("is not an IPv4 CIDR range such as 10.254.254.0/26");
    }
    expect(() => proxyMetricsGateway("10.254.254.1/26")).toThrow(/not a network address/);
  });
  it("network name: the historic name for the default range, one name per other range (so a change creates before it deletes)", () => {
    expect(proxyMetricsNetworkName(DEFAULT_PROXY_METRICS_SUBNET)).toBe("net_monitoring_proxy");
    expect(proxyMetricsNetworkName("10.200.16.0/24")).toBe("net_monitoring_proxy_10_200_16_0_24");
    expect(proxyMetricsNetworkName("10.200.16.0/25")).not.toBe(proxyMetricsNetworkName("10.200.16.0/24"));
    expect(proxyMetricsNetworkName("10.254.254.64/26")).not.toBe(proxyMetricsNetworkName(DEFAULT_PROXY_METRICS_SUBNET));
    expect(() => proxyMetricsNetworkName("10.254.254.1/26")).toThrow(/not a network address/);
  });
});
