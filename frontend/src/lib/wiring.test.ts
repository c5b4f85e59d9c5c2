import { describe, expect, it } from "vitest";
import palette from "../test/palette.json";
import type { BrickSpec, Palette } from "../types";
import contract from "../../../tests/contract/port_types.json";
import { connectionProblem, DEFAULT_PARENTS, fits, forEachOffer, ORDER_IN, ORDER_OUT, wireProblem } from "./wiring";

describe("fits (the server's wiring rule)", () => {
  // The same cases as the server's test (tests/bricks/test_types.py) reads.
  it.each(contract.cases)("$out -> $in is $ok", ({ out, in: inp, ok }) => {
    expect(fits(out, inp)).toBe(ok);
  });

  it("holds the shared type table", () => {
    expect(DEFAULT_PARENTS).toEqual(contract.parents);
  });

  it("follows the parents served by the API", () => {
    expect(fits("Fancy", "string", { Fancy: "Url", Url: "string" })).toBe(true);
    expect(fits("Fancy", "string")).toBe(false);
  });

  it("explains a refusal", () => {
    expect(wireProblem({ name: "a", direction: "out", type: "string", required: true },
                       { name: "b", direction: "in", type: "Secret", required: true }))
      .toBe("a (string) does not fit b (Secret)");
  });
});

describe("connectionProblem", () => {
  const specs = new Map((palette as Palette).bricks.map((b) => [b.id, b as BrickSpec]));
  const bricks: Record<string, string> = { n: "test.noop", e: "test.echo", s: "core.share_settings", t: "core.template" };
  const ctx = (edges = [] as { source: string; sourceHandle: string; target: string; targetHandle: string }[]) =>
    ({ brickOf: (id: string) => specs.get(bricks[id]), edges, parents: (palette as Palette).type_parents });

  it("accepts a fitting wire", () => {
    expect(connectionProblem({ source: "n", sourceHandle: "value", target: "e", targetHandle: "text" }, ctx())).toBeNull();
  });
  it("refuses a string into a Secret input with the reason", () => {
    expect(connectionProblem({ source: "n", sourceHandle: "value", target: "s", targetHandle: "password" }, ctx()))
      .toBe("value (string) does not fit password (Secret)");
  });
  it("refuses a second wire into the same input", () => {
    const taken = [{ source: "t", sourceHandle: "text", target: "e", targetHandle: "text" }];
    expect(connectionProblem({ source: "n", sourceHandle: "value", target: "e", targetHandle: "text" }, ctx(taken)))
      .toBe("input text already has a wire");
  });
  it("refuses a node wired to itself", () => {
    expect(connectionProblem({ source: "e", sourceHandle: "text", target: "e", targetHandle: "text" }, ctx()))
      .toMatch(/itself/);
  });
  it("accepts order wires between order handles only, once", () => {
    const order = { source: "n", sourceHandle: ORDER_OUT, target: "e", targetHandle: ORDER_IN };
    expect(connectionProblem(order, ctx())).toBeNull();
    expect(connectionProblem(order, ctx([order]))).toMatch(/already ordered/);
    expect(connectionProblem({ ...order, targetHandle: "text" }, ctx())).toMatch(/order handle/);
  });

  it("types wires around fan-out nodes as the server does", () => {
    const each: Record<string, string> = { e: "text", e2: "text" };
    const bricks2: Record<string, string> = { ...bricks, e2: "test.echo" };
    const fan = { brickOf: (id: string) => specs.get(bricks2[id]), edges: [], parents: (palette as Palette).type_parents,
                  forEachOf: (id: string) => each[id] };
    // A plain string into a for_each input (which takes a list) is refused...
    expect(connectionProblem({ source: "n", sourceHandle: "value", target: "e", targetHandle: "text" }, fan))
      .toBe("value (string) does not fit text (string[])");
    // ...a fan-out's gathered (list) output into a plain string input too...
    expect(connectionProblem({ source: "e", sourceHandle: "text", target: "t", targetHandle: "template" }, fan))
      .toBe("text (string[]) does not fit template (string)");
    // ...while fan-out into fan-out on the for_each input fits.
    expect(connectionProblem({ source: "e", sourceHandle: "text", target: "e2", targetHandle: "text" }, fan)).toBeNull();
  });
});

describe("forEachOffer", () => {
  const specs = new Map((palette as Palette).bricks.map((b) => [b.id, b as BrickSpec]));
  const bricks: Record<string, string> = { sel: "hosts.select", vol: "storage.volume", t: "core.template", n: "test.noop" };
  const each: Record<string, string> = {};
  const ctx = { brickOf: (id: string) => specs.get(bricks[id]), edges: [], parents: (palette as Palette).type_parents,
                forEachOf: (id: string) => each[id] };
  const hosts = { source: "sel", sourceHandle: "hosts", target: "vol", targetHandle: "host" };

  it("offers for_each for a list into a port of one value", () => {
    expect(connectionProblem(hosts, ctx)).toBe("hosts (HostRef[]) does not fit host (HostRef)");
    expect(forEachOffer(hosts, ctx)).toBe("host");
  });
  it("offers nothing when the items would not fit either, or the wire fits as it is", () => {
    expect(forEachOffer({ source: "sel", sourceHandle: "hosts", target: "t", targetHandle: "values" }, ctx)).toBeNull();
    expect(forEachOffer({ source: "n", sourceHandle: "value", target: "t", targetHandle: "template" }, ctx)).toBeNull();
  });
  it("offers nothing to a node that runs once per item of another input already", () => {
    each.vol = "name";
    expect(forEachOffer(hosts, ctx)).toBeNull();
    delete each.vol;
  });
});
