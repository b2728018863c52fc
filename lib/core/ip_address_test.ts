import { assertEquals } from "@std/assert";
import { addressBucket, ipAddress } from "./ip_address.ts";

Deno.test("ip address: IPv4 as written, IPv6 canonical, IPv4-mapped IPv6 as its IPv4", () => {
  assertEquals(ipAddress("10.0.0.1"), "10.0.0.1");
  assertEquals(ipAddress("::ffff:10.0.0.1"), "10.0.0.1");
  assertEquals(ipAddress("::FFFF:0a00:0001"), "10.0.0.1");
  assertEquals(ipAddress("::ffff:127.0.0.2"), "127.0.0.2");
  assertEquals(ipAddress("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  assertEquals(ipAddress("::1"), "::1");
  for (const text of ["10.0.0.256", "host", "", "::ffff:1.2.3", "1:2:3:4:5:6:7:8:9"]) {
    assertEquals(ipAddress(text), undefined, text);
  }
});

Deno.test("ip address: the limits count IPv4 addresses apart, IPv6 ones by their /64", () => {
  assertEquals(addressBucket("10.0.0.1"), "10.0.0.1");
  assertEquals(addressBucket("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assertEquals(addressBucket("2001:db8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64");
  assertEquals(addressBucket("2001:db8::1"), "2001:db8:0:0::/64");
  assertEquals(addressBucket("::1"), "0:0:0:0::/64");
  assertEquals(addressBucket("unknown"), "unknown");
});
