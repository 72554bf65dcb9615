// sbom.js: the CycloneDX SBOM of clay-function, built with
// @cyclonedx/cyclonedx-library from the manifest scripts/deps.sh writes into
// .deps/ (the exact Debian source versions built and linked). Run by
// scripts/sbom.sh, which installs the pinned packages and sets NODE_PATH.
//
//   node sbom.js generate --manifest .deps/manifest --version 1.2.3 --out sbom.cdx.json
//   node sbom.js check    --manifest .deps/manifest --sbom sbom.cdx.json
//
// check validates the SBOM against the CycloneDX JSON schema and compares
// every manifest entry with the SBOM's components (both ways); it prints
// "ok - ..." / "not ok - ..." lines and exits 1 on any failure.
"use strict";

const fs = require("fs");
const CDX = require("@cyclonedx/cyclonedx-library");
const { PackageURL } = require("packageurl-js");

const SPEC = CDX.Spec.Spec1dot6;
const PROP = "clay-webhooks:deps";

function args(argv) {
    const out = {};
    for (let i = 0; i < argv.length; i += 2) {
        if (!argv[i].startsWith("--")) throw new Error(`unexpected argument ${argv[i]}`);
        out[argv[i].slice(2)] = argv[i + 1];
    }
    return out;
}

// readManifest parses .deps/manifest: meta lines and entries
// (kind, source package, source version, binary package, binary version).
function readManifest(file) {
    const meta = {};
    const entries = [];
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        const [kind, a, b, c, d] = line.split("\t");
        if (kind === "meta") {
            meta[a] = b;
        } else if (["built", "linked", "build"].includes(kind) && a && b) {
            entries.push({ kind, source: a, sourceVersion: b, binary: c && c !== "-" ? c : null, binaryVersion: d && d !== "-" ? d : null });
        } else {
            throw new Error(`${file}: bad line ${JSON.stringify(line)}`);
        }
    }
    if (!meta.arch || !meta.distro) throw new Error(`${file}: no arch or distro line`);
    return { meta, entries };
}

const WHY = {
    built: "built from this Debian source package by scripts/deps.sh and linked statically",
    linked: "Debian library the binaries link dynamically (in the image)",
    build: "Debian build dependency (not in the image)",
};

function generate(o) {
    const { meta, entries } = readManifest(o.manifest);
    const version = o.version || "0.0.0-unknown";
    const bom = new CDX.Models.Bom();
    const licenses = new CDX.Models.LicenseRepository();
    licenses.add(new CDX.Models.SpdxLicense("Apache-2.0"));
    const project = new CDX.Models.Component(CDX.Enums.ComponentType.Application, "clay-webhooks", {
        bomRef: "clay-webhooks",
        version,
        licenses,
        description: "clay-function (Clay webhook receiver for Cloud Run) and clay-harness",
        purl: new PackageURL("generic", null, "clay-webhooks", version, null, null),
    });
    bom.metadata.component = project;
    bom.metadata.properties.add(new CDX.Models.Property("clay-webhooks:deps-stamp", meta.stamp || ""));
    bom.metadata.properties.add(new CDX.Models.Property("clay-webhooks:arch", meta.arch));
    bom.metadata.properties.add(new CDX.Models.Property("clay-webhooks:distro", meta.distro));
    const seen = new Set();
    for (const e of entries) {
        // One component per Debian source package (gcc-12 ships two libraries).
        const ref = `deb-src:${e.source}@${e.sourceVersion}`;
        if (seen.has(ref)) {
            continue;
        }
        seen.add(ref);
        const props = new CDX.Models.PropertyRepository();
        props.add(new CDX.Models.Property(PROP, e.kind));
        props.add(new CDX.Models.Property("clay-webhooks:why", WHY[e.kind]));
        const binaries = entries.filter((x) => x.source === e.source && x.sourceVersion === e.sourceVersion && x.binary);
        for (const b of binaries) props.add(new CDX.Models.Property("clay-webhooks:binary", `${b.binary} ${b.binaryVersion}`));
        // Scanners match Debian packages by purl: the source package for what
        // was built here, the binary package (with its source) for libraries.
        const purl = e.binary
            ? new PackageURL("deb", "debian", e.binary, e.binaryVersion, { arch: meta.arch, distro: meta.distro, upstream: `${e.source}@${e.sourceVersion}` }, null)
            : new PackageURL("deb", "debian", e.source, e.sourceVersion, { arch: "source", distro: meta.distro }, null);
        const c = new CDX.Models.Component(CDX.Enums.ComponentType.Library, e.source, {
            bomRef: ref,
            version: e.sourceVersion,
            purl,
            scope: e.kind === "build" ? CDX.Enums.ComponentScope.Excluded : CDX.Enums.ComponentScope.Required,
            properties: props,
        });
        bom.components.add(c);
        if (e.kind !== "build") project.dependencies.add(c.bomRef);
    }
    const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(SPEC));
    const text = serializer.serialize(bom, { sortLists: true, space: 2 });
    fs.writeFileSync(o.out, `${text}\n`);
}

async function check(o) {
    let failed = 0;
    const ok = (cond, msg, detail) => {
        console.log(cond ? `ok - ${msg}` : `not ok - ${msg}${detail ? `: ${detail}` : ""}`);
        if (!cond) failed += 1;
    };
    const text = fs.readFileSync(o.sbom, "utf8");
    const validator = new CDX.Validation.JsonStrictValidator(SPEC.version);
    let errors = null;
    try {
        errors = await validator.validate(text);
    } catch (e) {
        errors = String(e.message || e);
    }
    ok(errors === null, `sbom: valid CycloneDX ${SPEC.version} JSON (strict schema)`, JSON.stringify(errors).slice(0, 400));
    const sbom = JSON.parse(text);
    const { entries } = readManifest(o.manifest);
    const comps = sbom.components || [];
    const byName = new Map(comps.map((c) => [c.name, c]));
    // The issue's list: each must be in the manifest and the SBOM with the manifest's version.
    const required = ["h2o", "curl", "android-platform-external-boringssl", "cjson", "nghttp2", "zlib", "libyaml", "glibc"];
    for (const name of required) {
        const e = entries.find((x) => x.source === name);
        const c = byName.get(name);
        ok(e && c && c.version === e.sourceVersion && (c.purl || "").startsWith("pkg:deb/debian/"),
            `sbom: ${name} ${e ? e.sourceVersion : "(not in the manifest)"} as recorded by scripts/deps.sh`, c ? `SBOM says ${c.version}` : "not in the SBOM");
    }
    const missing = entries.filter((e) => !comps.some((c) => c.name === e.source && c.version === e.sourceVersion));
    ok(missing.length === 0, `sbom: every one of the ${entries.length} manifest entries is a component with its exact source version`,
        missing.map((e) => `${e.source} ${e.sourceVersion}`).join(", "));
    const extra = comps.filter((c) => !entries.some((e) => e.source === c.name && e.sourceVersion === c.version));
    ok(extra.length === 0, "sbom: no component the manifest does not record", extra.map((c) => `${c.name} ${c.version}`).join(", "));
    const built = comps.filter((c) => (c.properties || []).some((p) => p.name === PROP && p.value === "built")).map((c) => c.name).sort();
    ok(JSON.stringify(built) === JSON.stringify(["curl", "h2o"]), "sbom: h2o and curl are marked as built from source here", built.join(", "));
    const meta = sbom.metadata && sbom.metadata.component;
    ok(meta && meta.name === "clay-webhooks" && meta.version && (meta.licenses || []).some((l) => l.license && l.license.id === "Apache-2.0"),
        "sbom: the project itself (clay-webhooks, Apache-2.0, a version) is the subject");
    process.exitCode = failed ? 1 : 0;
}

async function main() {
    const [cmd, ...rest] = process.argv.slice(2);
    const o = args(rest);
    if (cmd === "generate" && o.manifest && o.out) {
        generate(o);
    } else if (cmd === "check" && o.manifest && o.sbom) {
        await check(o);
    } else {
        console.error("usage: sbom.js generate --manifest FILE --out FILE [--version V] | check --manifest FILE --sbom FILE");
        process.exit(2);
    }
}

main().catch((e) => {
    console.error(`sbom.js: ${e.stack || e}`);
    process.exit(1);
});
