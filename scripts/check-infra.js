// check-infra.js: the parsing checks of scripts/check-infra.sh (which installs
// the npm packages this file requires and sets NODE_PATH). Prints one line per
// check, "ok - ..." or "not ok - ...", and exits 0; the shell script counts.
//
//   node check-infra.js dockerfile <Dockerfile>
//   node check-infra.js terraform <repo root>
//   node check-infra.js schema <repo root>      (infra/*.tf against @cdktf/provider-google)
//   node check-infra.js workflows <repo root>   (deploy order, pinning, smoke test)
"use strict";

const fs = require("fs");
const path = require("path");

function ok(msg) {
    console.log(`ok - ${msg}`);
}
function notOk(msg) {
    console.log(`not ok - ${msg}`);
}
function check(cond, msg, detail) {
    if (cond) {
        ok(msg);
    } else {
        notOk(detail ? `${msg}: ${detail}` : msg);
    }
}

// ---------------------------------------------------------------------------
// Dockerfile: the image contract (what Cloud Run and the docs rely on)
// ---------------------------------------------------------------------------

function checkDockerfile(file) {
    const { DockerfileParser } = require("dockerfile-ast");
    const text = fs.readFileSync(file, "utf8");
    const df = DockerfileParser.parse(text);
    const stages = [];
    for (const ins of df.getInstructions()) {
        const kw = ins.getKeyword();
        if (kw === "FROM") {
            stages.push({ from: ins, image: ins.getImageName(), tag: ins.getImageTag(), name: ins.getBuildStage(), ins: [] });
        } else if (stages.length > 0) {
            stages[stages.length - 1].ins.push(ins);
        }
    }
    const line = (ins) => text.split("\n")[ins.getRange().start.line];
    const args = (ins) => ins.getArgumentsContent() || "";
    const find = (stage, kw) => stage.ins.filter((i) => i.getKeyword() === kw);

    const build = stages.find((s) => s.image === "debian" && /^bookworm(-|$)/.test(s.tag || ""));
    check(build !== undefined, "Dockerfile: a debian:bookworm build stage");
    // Every base image that is not scratch or an earlier stage is pinned by digest
    // (the tag stays for readers and for dependabot).
    const stageNames = new Set();
    const unpinned = [];
    for (const s of stages) {
        const digest = s.from.getImageDigest ? s.from.getImageDigest() : null;
        const ref = args(s.from).split(/\s+/)[0];
        if (s.image !== "scratch" && !stageNames.has(s.image) && !(digest && /^sha256:[0-9a-f]{64}$/.test(digest))) unpinned.push(ref);
        if (s.name) stageNames.add(s.name);
    }
    check(unpinned.length === 0, "Dockerfile: every base image (but scratch and earlier stages) is pinned by sha256 digest", unpinned.join(", "));
    const sbomStage = stages.find((s) => s.name === "sbom");
    check(sbomStage !== undefined && /scripts\/sbom\.sh/.test(find(sbomStage, "RUN").map(args).join("\n")),
        'Dockerfile: an "sbom" stage runs scripts/sbom.sh');
    if (build) {
        const runs = find(build, "RUN").map(args).join("\n");
        check(/DEPS_MINIMAL=1\s+(bash\s+)?scripts\/deps\.sh/.test(runs), "Dockerfile: build stage runs DEPS_MINIMAL=1 scripts/deps.sh");
        check(/cmake\s.*-DCMAKE_BUILD_TYPE=Release/.test(runs) && /cmake --build build/.test(runs),
            "Dockerfile: build stage builds with CMake (Release)");
        check(/scripts\/rootfs\.sh build \/rootfs(\s|$)/.test(runs) && /scripts\/rootfs\.sh build \/rootfs-ci --with-harness/.test(runs),
            "Dockerfile: build stage assembles /rootfs and /rootfs-ci (--with-harness) with scripts/rootfs.sh");
    }

    const last = stages[stages.length - 1];
    const contract = (stage, label, rootfs) => {
        const problems = [];
        if (stage.image !== "scratch") problems.push(`FROM ${stage.image}, not scratch`);
        const copies = find(stage, "COPY").map(line);
        if (!copies.some((l) => new RegExp(`--from=${build ? build.name : "build"}\\s+${rootfs}/?\\s+/\\s*$`).test(l))) {
            problems.push(`no COPY --from=<build stage> ${rootfs}/ /`);
        }
        const users = find(stage, "USER").map(args);
        if (users.length === 0 || users[users.length - 1].trim() !== "65532:65532") problems.push("USER is not 65532:65532");
        if (!find(stage, "EXPOSE").map(args).some((a) => a.split(/\s+/).includes("8080"))) problems.push("no EXPOSE 8080");
        const eps = find(stage, "ENTRYPOINT").map(args);
        let ep = null;
        try {
            ep = eps.length ? JSON.parse(eps[eps.length - 1]) : null;
        } catch (e) {
            ep = null;
        }
        if (!Array.isArray(ep) || ep.length !== 1 || ep[0] !== "/clay-function") {
            problems.push('ENTRYPOINT is not exec form ["/clay-function"]');
        }
        const cmds = find(stage, "CMD").map(args);
        let cmd = null;
        try {
            cmd = cmds.length ? JSON.parse(cmds[cmds.length - 1]) : null;
        } catch (e) {
            cmd = null;
        }
        if (!Array.isArray(cmd) || cmd.length !== 1 || cmd[0] !== "serve") problems.push('CMD is not ["serve"]');
        if (!copies.some((l) => /--from=sbom\s.*\.cdx\.json/.test(l))) problems.push("no COPY --from=sbom of the CycloneDX SBOM");
        check(problems.length === 0, `Dockerfile: ${label} stage is FROM scratch, USER 65532:65532, EXPOSE 8080, ENTRYPOINT ["/clay-function"], CMD ["serve"]`,
            problems.join("; "));
    };
    if (last) {
        contract(last, `final (default) "${last.name || "unnamed"}"`, "/rootfs");
    } else {
        notOk("Dockerfile: no stages");
    }
    const ci = stages.find((s) => s.name === "ci");
    if (ci) {
        contract(ci, '"ci"', "/rootfs-ci");
    } else {
        notOk('Dockerfile: no "ci" stage (the image with /clay-harness)');
    }
}

// ---------------------------------------------------------------------------
// Terraform
// ---------------------------------------------------------------------------

// stripComments removes C comments and keeps string and character literals.
function stripComments(src) {
    let out = "";
    let i = 0;
    const n = src.length;
    while (i < n) {
        const c = src[i];
        const d = src[i + 1];
        if (c === '"' || c === "'") {
            let j = i + 1;
            while (j < n && src[j] !== c && src[j] !== "\n") {
                j += src[j] === "\\" ? 2 : 1;
            }
            out += src.slice(i, j + 1);
            i = j + 1;
        } else if (c === "/" && d === "*") {
            const j = src.indexOf("*/", i + 2);
            out += " ";
            i = j < 0 ? n : j + 2;
        } else if (c === "/" && d === "/") {
            const j = src.indexOf("\n", i);
            i = j < 0 ? n : j;
        } else {
            out += c;
            i += 1;
        }
    }
    return out;
}

// sourceFiles lists the function's and lib's .c files (not their tests), folders included, sorted.
function sourceFiles(root) {
    const out = [];
    const walk = (rel) => {
        const abs = path.join(root, rel);
        if (!fs.existsSync(abs)) return;
        for (const e of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            if (e.isDirectory()) {
                if (e.name !== "tests") walk(path.join(rel, e.name));
            } else if (e.name.endsWith(".c")) {
                out.push(path.join(rel, e.name));
            }
        }
    };
    walk("function");
    walk("lib");
    return out;
}

// envReads returns the environment variable names the function reads:
// cw_env_<reader>(..., "NAME", ...) with the name as first or second argument,
// getenv("NAME"), secure_getenv("NAME") and the stores' env_nonempty("NAME"), in function/**/*.c and lib/*.c.
function envReads(root) {
    const names = new Map(); // name -> first file:line
    const re = /\b(cw_env_[a-z0-9_]+|secure_getenv|getenv|env_nonempty)\s*\(\s*(?:[^,()"]*,\s*)?"([A-Za-z_][A-Za-z0-9_]*)"/g;
    for (const f of sourceFiles(root)) {
        const src = stripComments(fs.readFileSync(path.join(root, f), "utf8"));
        let m;
        while ((m = re.exec(src)) !== null) {
            if (m[1] === "cw_env_fail" || m[1] === "cw_env_cpus") continue;
            if (!names.has(m[2])) {
                const lineNo = src.slice(0, m.index).split("\n").length;
                names.set(m[2], `${f}:${lineNo}`);
            }
        }
    }
    return names;
}

// literalNames returns every string literal of function/**/*.c and lib/*.c that
// looks like an environment variable name.
function literalNames(root) {
    const out = new Set();
    for (const f of sourceFiles(root)) {
        const src = stripComments(fs.readFileSync(path.join(root, f), "utf8"));
        for (const m of src.matchAll(/"([A-Z][A-Z0-9_]+)"/g)) out.add(m[1]);
    }
    return out;
}

// optionalVars reads the first column of the table under the "Optional
// variables" heading of infra/README.md: `NAME` or `PREFIX_*`.
function optionalVars(readme) {
    const text = fs.readFileSync(readme, "utf8").split("\n");
    const out = new Set();
    let inSection = false;
    for (const l of text) {
        const h = /^(#+)\s+(.*)$/.exec(l);
        if (h) {
            inSection = /^optional variables\b/i.test(h[2].trim());
            continue;
        }
        if (!inSection) continue;
        const row = /^\|\s*([^|]*)\|/.exec(l);
        if (!row) continue;
        for (const m of row[1].matchAll(/`([A-Z][A-Z0-9_]*\*?)`/g)) out.add(m[1]);
    }
    return out;
}

function listify(x) {
    return Array.isArray(x) ? x : x === undefined || x === null ? [] : [x];
}

// Names set by the Cloud Run service: literal `env { name = "X" }` blocks, and
// for each `dynamic "env"` the keys of the literal locals maps its for_each
// leads to (following local.X references through non-map locals).
function serviceEnvNames(tf, locals) {
    const names = new Map(); // name -> where
    const problems = [];
    const services = (tf.resource && tf.resource.google_cloud_run_v2_service) || {};
    const isEnvName = (k) => /^[A-Z][A-Z0-9_]*$/.test(k);
    const resolve = (expr, seen) => {
        const keys = [];
        for (const m of String(expr).matchAll(/\blocal\.([A-Za-z_][A-Za-z0-9_-]*)/g)) {
            const name = m[1];
            if (seen.has(name)) continue;
            seen.add(name);
            const v = locals[name];
            if (v && typeof v === "object" && !Array.isArray(v)) {
                const ks = Object.keys(v);
                if (ks.length && ks.every(isEnvName)) {
                    keys.push(...ks.map((k) => [k, `local.${name}`]));
                    continue;
                }
            }
            if (typeof v === "string") keys.push(...resolve(v, seen));
        }
        return keys;
    };
    for (const [rname, bodies] of Object.entries(services)) {
        for (const body of listify(bodies)) {
            for (const tmpl of listify(body.template)) {
                for (const c of listify(tmpl.containers)) {
                    for (const e of listify(c.env)) {
                        if (typeof e.name === "string" && isEnvName(e.name)) {
                            names.set(e.name, `google_cloud_run_v2_service.${rname} env block`);
                        } else {
                            problems.push(`google_cloud_run_v2_service.${rname}: env block with a computed name ${JSON.stringify(e.name)}`);
                        }
                    }
                    const dyn = c.dynamic || {};
                    for (const d of listify(dyn.env)) {
                        const found = resolve(d.for_each, new Set());
                        if (found.length === 0) {
                            problems.push(`google_cloud_run_v2_service.${rname}: cannot resolve the names of dynamic "env" for_each ${d.for_each}`);
                        }
                        for (const [k, where] of found) names.set(k, where);
                    }
                }
            }
        }
    }
    return { names, problems, numServices: Object.keys(services).length };
}

async function checkTerraform(root) {
    const hcl = require("@cdktf/hcl2json");
    const infra = path.join(root, "infra");
    const files = fs.readdirSync(infra).filter((f) => f.endsWith(".tf")).sort();
    check(files.length > 0, "terraform: infra/*.tf present");
    const merged = { variable: {}, output: {}, resource: {}, locals: {} };
    for (const f of files) {
        try {
            const j = await hcl.parse(f, fs.readFileSync(path.join(infra, f), "utf8"));
            for (const [name, defs] of Object.entries(j.variable || {})) merged.variable[name] = listify(defs)[0];
            for (const [name, defs] of Object.entries(j.output || {})) merged.output[name] = listify(defs)[0];
            for (const [type, byName] of Object.entries(j.resource || {})) {
                merged.resource[type] = Object.assign(merged.resource[type] || {}, byName);
            }
            for (const block of listify(j.locals)) Object.assign(merged.locals, block);
            ok(`terraform: infra/${f} parses`);
        } catch (e) {
            notOk(`terraform: infra/${f} does not parse: ${String(e.message || e).replace(/\s+/g, " ").slice(0, 400)}`);
        }
    }
    const example = path.join(infra, "terraform.tfvars.example");
    if (fs.existsSync(example)) {
        try {
            const j = await hcl.parse("terraform.tfvars.example", fs.readFileSync(example, "utf8"));
            const unknown = Object.keys(j).filter((k) => !(k in merged.variable));
            check(unknown.length === 0, "terraform: infra/terraform.tfvars.example parses and sets only declared variables",
                `not declared in variables.tf: ${unknown.join(", ")}`);
        } catch (e) {
            notOk(`terraform: infra/terraform.tfvars.example does not parse: ${String(e.message || e).slice(0, 300)}`);
        }
    } else {
        notOk("terraform: infra/terraform.tfvars.example missing");
    }

    const undocVars = Object.entries(merged.variable).filter(([, v]) => !v || !v.description || !String(v.description).trim()).map(([k]) => k);
    check(Object.keys(merged.variable).length > 0 && undocVars.length === 0,
        `terraform: all ${Object.keys(merged.variable).length} variables have a description`, `no description: ${undocVars.join(", ")}`);
    const undocOut = Object.entries(merged.output).filter(([, v]) => !v || !v.description).map(([k]) => k);
    check(undocOut.length === 0, `terraform: all ${Object.keys(merged.output).length} outputs have a description`, `no description: ${undocOut.join(", ")}`);

    // Environment variables: the function's reads against Terraform and the docs.
    const reads = envReads(root);
    const readme = path.join(infra, "README.md");
    const optional = fs.existsSync(readme) ? optionalVars(readme) : new Set();
    check(fs.existsSync(readme) && optional.size > 0, 'env: infra/README.md has an "Optional variables" table');
    const svc = serviceEnvNames(merged, merged.locals);
    check(svc.numServices > 0 && svc.problems.length === 0 && svc.names.size > 0,
        `env: the Cloud Run service's environment resolves to ${svc.names.size} names`, svc.problems.join("; ") || "no google_cloud_run_v2_service or no env");
    if (reads.size === 0) {
        notOk("env: found no environment reads (cw_env_*(), getenv()) in function/**/*.c and lib/*.c");
        return;
    }
    const optionalMatch = (name) => {
        if (optional.has(name)) return true;
        for (const o of optional) {
            if (o.endsWith("*") && name.startsWith(o.slice(0, -1))) return true;
        }
        return false;
    };
    const missing = [...reads.keys()].filter((n) => !svc.names.has(n) && !optionalMatch(n)).sort();
    check(missing.length === 0,
        `env: each of the ${reads.size} variables the function reads is set by Terraform or listed in infra/README.md "Optional variables"`,
        `neither: ${missing.map((n) => `${n} (${reads.get(n)})`).join(", ")}`);
    const extra = [...svc.names.keys()].filter((n) => !reads.has(n)).sort();
    check(extra.length === 0, "env: Terraform sets only variables the function reads",
        `not read by function/**/*.c or lib/*.c: ${extra.map((n) => `${n} (${svc.names.get(n)})`).join(", ")}`);
    // A documented name must at least be named by the function's sources (its
    // --help table counts: a backend may document a variable before reading it).
    const mentioned = literalNames(root);
    const stale = [...optional].filter((o) => !o.endsWith("*") && !reads.has(o) && !mentioned.has(o)).sort();
    check(stale.length === 0, 'env: every name in infra/README.md "Optional variables" is known to the function',
        `not in function/**/*.c or lib/*.c: ${stale.join(", ")}`);
    const both = [...optional].filter((o) => svc.names.has(o)).sort();
    check(both.length === 0, 'env: no name is both set by Terraform and listed as optional', both.join(", "));

    // Docs name only outputs and workflow variables that exist.
    const docs = ["docs/deploy.md", "infra/README.md"].filter((d) => fs.existsSync(path.join(root, d)));
    const outputsUsed = new Map();
    for (const d of docs) {
        const t = fs.readFileSync(path.join(root, d), "utf8");
        for (const m of t.matchAll(/terraform output(?:\s+-raw|\s+-json)?\s+([a-z_][a-z0-9_]*)/g)) outputsUsed.set(m[1], d);
    }
    const badOut = [...outputsUsed.keys()].filter((o) => !(o in merged.output));
    check(docs.length > 0 && badOut.length === 0, `docs: the ${outputsUsed.size} \`terraform output\` names in ${docs.join(", ")} exist in infra/outputs.tf`,
        badOut.map((o) => `${o} (${outputsUsed.get(o)})`).join(", ") || "no docs");
    const deploy = path.join(root, ".github/workflows/deploy.yml");
    const deployDoc = path.join(root, "docs/deploy.md");
    if (fs.existsSync(deploy) && fs.existsSync(deployDoc)) {
        const wf = fs.readFileSync(deploy, "utf8");
        const doc = fs.readFileSync(deployDoc, "utf8");
        const vars = new Set([...wf.matchAll(/\bvars\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]));
        const undocumented = [...vars].filter((v) => !doc.includes(v)).sort();
        check(vars.size > 0 && undocumented.length === 0, `docs: docs/deploy.md explains the ${vars.size} repository variables deploy.yml uses`,
            `not in docs/deploy.md: ${undocumented.join(", ")}`);
    } else {
        notOk("docs: docs/deploy.md or .github/workflows/deploy.yml missing");
    }
}

// ---------------------------------------------------------------------------
// Provider schema: every resource, attribute and block of infra/*.tf exists in
// hashicorp/google as generated into @cdktf/provider-google (lib/<resource>/
// index.d.ts: one interface per block, each property documented with its
// Terraform name), and every required attribute or block is set.
// ---------------------------------------------------------------------------

const META_ARGS = new Set(["count", "for_each", "depends_on", "lifecycle", "provider", "connection", "provisioner"]);

// loadSchema parses lib/<dir>/index.d.ts into { interfaces: Map(name -> Map(tfName -> {type, required, child})) }.
function loadSchema(pkgDir, resourceType) {
    const dir = path.join(pkgDir, "lib", resourceType.replace(/^google_/, "").replace(/_/g, "-"));
    const file = path.join(dir, "index.d.ts");
    if (!fs.existsSync(file)) return null;
    const lines = fs.readFileSync(file, "utf8").split("\n");
    const interfaces = new Map();
    let cur = null;
    let pendingName = null;
    for (const l of lines) {
        const head = /^export interface (\w+)(?: extends [\w.]+)? \{/.exec(l);
        if (head) {
            cur = new Map();
            interfaces.set(head[1], cur);
            pendingName = null;
            continue;
        }
        if (cur === null) continue;
        if (/^\}/.test(l)) {
            cur = null;
            continue;
        }
        const doc = /Docs at Terraform Registry: \{@link \S+#([a-z0-9_]+) /.exec(l);
        if (doc) {
            pendingName = doc[1];
            continue;
        }
        const prop = /^ {4}readonly (\w+)(\?)?: (.*)$/.exec(l);
        if (prop && pendingName) {
            cur.set(pendingName, { type: prop[3], required: !prop[2] });
            pendingName = null;
        }
    }
    for (const props of interfaces.values()) {
        for (const p of props.values()) {
            const m = /\b([A-Z]\w+)\b/.exec(p.type.replace(/cdktf\.\w+/g, ""));
            p.child = m && interfaces.has(m[1]) ? m[1] : null;
        }
    }
    const pascal = resourceType.replace(/^google_/, "").split("_").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
    const top = [...interfaces.keys()].find((k) => k.toLowerCase() === `${pascal}Config`.toLowerCase());
    return top ? { interfaces, top } : null;
}

// checkBody walks one HCL body (hcl2json form) against interface `iface`;
// returns problems as strings.
function checkBody(schema, iface, body, where, problems) {
    const props = schema.interfaces.get(iface);
    const seen = new Set();
    for (const [key, value] of Object.entries(body || {})) {
        if (META_ARGS.has(key)) continue;
        if (key === "dynamic") {
            for (const [blockName, defs] of Object.entries(value || {})) {
                const p = props.get(blockName);
                if (!p || !p.child) {
                    problems.push(`${where}: dynamic "${blockName}" is not a block of ${iface}`);
                    continue;
                }
                seen.add(blockName);
                for (const d of listify(defs)) {
                    for (const content of listify(d.content)) checkBody(schema, p.child, content, `${where}.${blockName}`, problems);
                }
            }
            continue;
        }
        const p = props.get(key);
        if (!p) {
            problems.push(`${where}: unknown attribute or block "${key}"`);
            continue;
        }
        seen.add(key);
        // A block is a list of objects in hcl2json; a map attribute is one object.
        if (p.child && Array.isArray(value)) {
            value.forEach((v, i) => checkBody(schema, p.child, v, `${where}.${key}${value.length > 1 ? `[${i}]` : ""}`, problems));
        }
    }
    const missing = [...props.entries()].filter(([k, p]) => p.required && !seen.has(k)).map(([k]) => k);
    if (missing.length) problems.push(`${where}: required ${missing.join(", ")} not set`);
}

async function checkSchema(root) {
    const hcl = require("@cdktf/hcl2json");
    let pkgDir;
    try {
        pkgDir = path.dirname(require.resolve("@cdktf/provider-google/package.json"));
    } catch (e) {
        notOk("schema: @cdktf/provider-google is not installed");
        return;
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
    const providerVersion = (pkg.cdktf && pkg.cdktf.provider && pkg.cdktf.provider.version) || "?";
    const infra = path.join(root, "infra");
    const versions = fs.readFileSync(path.join(infra, "versions.tf"), "utf8");
    const lower = /hashicorp\/google"\s*\n\s*version\s*=\s*">=\s*([0-9.]+)/.exec(versions);
    const atLeast = (a, b) => {
        const x = a.split(".").map(Number);
        const y = b.split(".").map(Number);
        for (let i = 0; i < 3; i++) {
            if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) > (y[i] || 0);
        }
        return true;
    };
    check(lower && atLeast(lower[1], providerVersion.split(".").slice(0, 2).join(".")),
        `schema: versions.tf requires hashicorp/google >= the checked schema's ${providerVersion.split(".").slice(0, 2).join(".")} (@cdktf/provider-google ${pkg.version})`,
        lower ? `versions.tf allows ${lower[1]}` : "no lower bound found");
    let numResources = 0;
    let numTypes = new Set();
    for (const f of fs.readdirSync(infra).filter((x) => x.endsWith(".tf")).sort()) {
        let j;
        try {
            j = await hcl.parse(f, fs.readFileSync(path.join(infra, f), "utf8"));
        } catch (e) {
            continue; // reported by the terraform check
        }
        for (const [type, byName] of Object.entries(j.resource || {})) {
            if (!type.startsWith("google_")) continue;
            const schema = loadSchema(pkgDir, type);
            for (const [name, bodies] of Object.entries(byName)) {
                const where = `${type}.${name}`;
                if (!schema) {
                    notOk(`schema: infra/${f}: ${where}: no resource ${type} in hashicorp/google ${providerVersion}`);
                    continue;
                }
                const problems = [];
                for (const body of listify(bodies)) checkBody(schema, schema.top, body, where, problems);
                numResources += 1;
                numTypes.add(type);
                check(problems.length === 0, `schema: infra/${f}: ${where} matches hashicorp/google ${providerVersion}`, problems.join("; "));
            }
        }
    }
    check(numResources > 0, `schema: checked ${numResources} google resources of ${numTypes.size} types`);
}

// ---------------------------------------------------------------------------
// Workflows: the deploy order, pinning and the smoke test's lead
// ---------------------------------------------------------------------------

// stepIndex returns the index of the first step whose run script or uses matches re, or -1.
function stepIndex(steps, re) {
    return steps.findIndex((s) => re.test(String(s.run || "")) || re.test(String(s.uses || "")));
}

function checkWorkflows(root) {
    const YAML = require("yaml");
    const dir = path.join(root, ".github/workflows");
    const files = [];
    for (const d of [dir, path.join(dir, "examples")]) {
        if (!fs.existsSync(d)) continue;
        for (const f of fs.readdirSync(d).sort()) {
            if (/\.ya?ml$/.test(f)) files.push(path.join(d, f));
        }
    }
    const docs = new Map();
    for (const f of files) {
        const rel = path.relative(root, f);
        try {
            docs.set(rel, YAML.parse(fs.readFileSync(f, "utf8")));
        } catch (e) {
            notOk(`${rel}: YAML: ${String(e.message).split("\n")[0]}`);
        }
    }
    // Every `uses:` of another repository is pinned to a full commit SHA, with its version in a comment.
    for (const f of files) {
        const rel = path.relative(root, f);
        const bad = [];
        let n = 0;
        for (const l of fs.readFileSync(f, "utf8").split("\n")) {
            const m = /^\s*(?:-\s+)?uses:\s*([^\s#]+)\s*(#.*)?$/.exec(l);
            if (!m || m[1].startsWith("./") || m[1].startsWith("docker://")) continue;
            n += 1;
            if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(m[1]) || !/^#\s*v\d+(\.\d+)*\b/.test(m[2] || "")) bad.push(m[1]);
        }
        check(bad.length === 0, `${rel}: all ${n} third-party actions pinned to a 40-hex commit SHA with "# vX.Y.Z"`, bad.join(", "));
    }
    const ci = docs.get(".github/workflows/ci.yml");
    const deploy = docs.get(".github/workflows/deploy.yml");
    if (!deploy || !ci) {
        notOk("workflows: ci.yml or deploy.yml missing");
        return;
    }
    // 1. The CI gate: workflow_run on ci's completion, success only, same commit.
    const on = deploy.on || deploy[true] || {};
    const wr = on.workflow_run;
    const triggers = Object.keys(on);
    check(wr && listify(wr.workflows).includes(ci.name) && listify(wr.types).includes("completed") && triggers.every((t) => t === "workflow_run"),
        `deploy.yml: triggered only by workflow_run of "${ci.name}" (completed)`, `triggers: ${triggers.join(", ")}`);
    const jobs = Object.entries(deploy.jobs || {});
    const deployJobs = jobs.filter(([, j]) => (j.steps || []).some((s) => /gcloud run deploy/.test(String(s.run || ""))));
    check(deployJobs.length === 1, "deploy.yml: one job runs `gcloud run deploy`");
    if (deployJobs.length !== 1) return;
    const [jobName, job] = deployJobs[0];
    // The gate may sit on the job or on a job it needs.
    const gates = [job.if || ""];
    for (const n of listify(job.needs)) gates.push(((deploy.jobs[n] || {}).if) || "");
    const gate = gates.join(" && ");
    check(/github\.event\.workflow_run\.conclusion\s*==\s*'success'/.test(gate) && /github\.event\.workflow_run\.event\s*==\s*'push'/.test(gate),
        `deploy.yml: job ${jobName} runs only when that CI run succeeded on a push`, gate || "no if:");
    const steps = job.steps || [];
    const checkout = steps.find((s) => /actions\/checkout@/.test(String(s.uses || "")));
    const sameCommit = checkout && checkout.with && /github\.event\.workflow_run\.head_sha/.test(String(checkout.with.ref || ""));
    check(sameCommit, `deploy.yml: job ${jobName} checks out the commit CI tested (workflow_run.head_sha)`);
    check(job.environment === "production" || (job.environment && job.environment.name === "production"),
        `deploy.yml: job ${jobName} runs in the production environment (the WIF trust requires it)`);
    // 2. Built once, deployed by digest, no traffic, a tag.
    const builds = steps.filter((s) => /docker\/build-push-action@/.test(String(s.uses || "")));
    check(builds.length === 1 && builds[0].with && builds[0].with.push === true && /linux\/amd64/.test(String(builds[0].with.platforms || "")) && builds[0].id,
        `deploy.yml: the image is built once, for linux/amd64, and pushed (step with an id for its digest)`);
    const iDeploy = stepIndex(steps, /gcloud run deploy/);
    const deployRun = String(steps[iDeploy].run);
    check(/--image[ =]"?\$\{?IMAGE\}?@\$\{?DIGEST\}?"?/.test(deployRun) || /--image[ =]"?[^"\s]*@\$\{\{\s*steps\.[\w-]+\.outputs\.digest\s*\}\}/.test(deployRun),
        "deploy.yml: gcloud run deploy --image <image>@<digest> (by digest, not by tag)");
    const digestEnv = JSON.stringify(steps[iDeploy].env || {});
    if (/\$\{?DIGEST/.test(deployRun)) {
        check(new RegExp(`steps\\.${builds[0] && builds[0].id}\\.outputs\\.digest`).test(digestEnv), "deploy.yml: DIGEST is the build step's digest output");
    }
    check(/--no-traffic\b/.test(deployRun) && /--tag[ =]"?\$\{?TAG\}?"?|--tag[ =]"?c-/.test(deployRun), "deploy.yml: gcloud run deploy --no-traffic --tag c-<short sha>");
    const tagDef = JSON.stringify(job.env || {}) + JSON.stringify(deploy.env || {}) + steps.map((s) => String(s.run || "")).join("\n");
    check(/TAG=c-\$\{(?:SHA|HEAD_SHA)::7\}|TAG:\s*c-/.test(tagDef) || /"TAG":"c-/.test(tagDef), "deploy.yml: the tag is c-<first 7 hex of the commit>");
    // 3. The smoke test talks to the tag URL: health, readiness, bad signature, one skip lead.
    const iSmoke = steps.findIndex((s, i) => i > iDeploy && /smoke/i.test(String(s.name || "")));
    check(iSmoke > iDeploy, "deploy.yml: a smoke test step after the no-traffic deploy");
    if (iSmoke < 0) return;
    const smoke = String(steps[iSmoke].run || "");
    const smokeEnv = JSON.stringify(steps[iSmoke].env || {});
    check(!/\$SERVICE_URL|status\.url/.test(smoke) && /\$\{?TAG_URL\}?/.test(smoke), "deploy.yml: the smoke test targets only the tag URL ($TAG_URL)");
    check(/TAG_URL/.test(deployRun) && /\.tag\s*==|select\(\.tag/.test(deployRun), "deploy.yml: TAG_URL is the URL of the traffic entry with the new tag");
    check(!/clay-harness|\bfire\b/.test(smoke) && steps[iSmoke].if === undefined, "deploy.yml: the smoke test always runs and fires no generated leads");
    check(/\$\{?TAG_URL\}?\/healthz/.test(smoke) && /\$\{?TAG_URL\}?\/readyz/.test(smoke), "deploy.yml: smoke test checks /healthz and /readyz on the tag");
    check(/401/.test(smoke) && /bad|wrong|invalid/i.test(smoke), "deploy.yml: smoke test expects 401 for a bad signature");
    const posts = smoke.match(/\$\{?TAG_URL\}?\/api\/clay\/enriched/g) || [];
    check(posts.length === 2, "deploy.yml: the smoke test sends exactly two callbacks (bad signature, one lead)", `${posts.length} found`);
    const leadMatch = /SMOKE_LEAD:\s*'?(\{.*?\})'?\s*$/m.exec(YAML.stringify(steps[iSmoke].env || {})) || /"SMOKE_LEAD":"((?:[^"\\]|\\.)*)"/.exec(smokeEnv);
    let lead = null;
    try {
        lead = leadMatch ? JSON.parse(leadMatch[1].includes('\\"') ? JSON.parse(`"${leadMatch[1]}"`) : leadMatch[1]) : null;
    } catch (e) {
        lead = null;
    }
    // Routing thresholds: the function's default NURTURE_MIN_SCORE is 50; infra may configure another.
    let nurture = 50;
    let slack = 90;
    try {
        const vars = fs.readFileSync(path.join(root, "infra/variables.tf"), "utf8");
        const n = /variable "nurture_min_score"[\s\S]*?default\s*=\s*(\d+)/.exec(vars);
        const sl = /variable "slack_min_score"[\s\S]*?default\s*=\s*(\d+)/.exec(vars);
        if (n) nurture = Math.min(nurture, Number(n[1]));
        if (sl) slack = Math.min(slack, Number(sl[1]));
        const ex = fs.readFileSync(path.join(root, "infra/terraform.tfvars.example"), "utf8");
        const ne = /^\s*nurture_min_score\s*=\s*(\d+)/m.exec(ex);
        if (ne) nurture = Math.min(nurture, Number(ne[1]));
    } catch (e) {
        /* defaults stay */
    }
    const score = lead ? Number(lead.icp_score) : NaN;
    check(lead && Number.isFinite(score) && score >= 0 && score < nurture && score < slack,
        `deploy.yml: the smoke lead (SMOKE_LEAD) routes to skip: icp_score ${score} < NURTURE_MIN_SCORE ${nurture} and < SLACK_MIN_SCORE ${slack}`,
        lead ? JSON.stringify(lead) : "no SMOKE_LEAD env with a JSON lead");
    check(/"route"\s*:\s*"skip"|route.*skip/.test(smoke) && /NURTURE_MIN_SCORE/.test(smoke),
        "deploy.yml: the smoke test checks the service's NURTURE_MIN_SCORE before sending and route \"skip\" in the answer");
    check(/\$SMOKE_LEAD|\$\{SMOKE_LEAD\}/.test(smoke), "deploy.yml: the smoke test sends SMOKE_LEAD (and no other lead body)");
    // 4. Traffic moves only after the smoke test, and nothing else moves it.
    const iTraffic = stepIndex(steps, /gcloud run services update-traffic/);
    check(iTraffic > iSmoke && (steps[iTraffic].if === undefined || /success\(\)/.test(steps[iTraffic].if)),
        "deploy.yml: traffic moves (gcloud run services update-traffic) only in a step after the smoke test");
    const trafficSteps = steps.filter((s) => /update-traffic/.test(String(s.run || "")));
    check(trafficSteps.length === 1, "deploy.yml: exactly one step moves traffic");
    const failStep = steps.find((s, i) => i > iDeploy && /failure\(\)/.test(String(s.if || "")));
    check(failStep && /::error/.test(String(failStep.run || "")) && !/update-traffic/.test(String(failStep.run || "")),
        "deploy.yml: on failure a step reports loudly (::error) and leaves traffic on the previous revision");
    // Other workflows never deploy.
    for (const [rel, wf] of docs) {
        if (rel.endsWith("deploy.yml")) continue;
        const text = JSON.stringify(wf || {});
        check(!/gcloud run (deploy|services update-traffic)/.test(text), `${rel}: does not deploy (only deploy.yml does)`);
    }
    // The release and the weekly rebuild exist; the example replays with --mock against the published image.
    const release = docs.get(".github/workflows/release.yml");
    const relText = release ? JSON.stringify(release) : "";
    check(release && /v\*/.test(JSON.stringify(release.on || release[true] || {})) && /provenance/.test(relText) && /sbom/i.test(relText) && /ghcr\.io/.test(relText),
        "release.yml: on v* tags, publishes images with provenance to GitHub's registry and attaches the SBOM");
    const weekly = docs.get(".github/workflows/weekly-rebuild.yml");
    const wkText = weekly ? JSON.stringify(weekly) : "";
    check(weekly && (weekly.on || weekly[true] || {}).schedule && /deps\.sh/.test(wkText) && /ctest/.test(wkText) && /replay/.test(wkText),
        "weekly-rebuild.yml: scheduled, rebuilds the dependencies, runs ctest and the fixture replay");
    const example = docs.get(".github/workflows/examples/replay-in-your-ci.yml");
    const exText = example ? JSON.stringify(example) : "";
    check(example && /--mock/.test(exText) && /clay-harness/.test(exText) && !/deps\.sh|cmake/.test(exText),
        "examples/replay-in-your-ci.yml: uses the published harness image (no source build) and passes --mock");
}

async function main() {
    const [cmd, arg] = process.argv.slice(2);
    try {
        if (cmd === "dockerfile") {
            checkDockerfile(arg);
        } else if (cmd === "terraform") {
            await checkTerraform(arg);
        } else if (cmd === "schema") {
            await checkSchema(arg);
        } else if (cmd === "workflows") {
            checkWorkflows(arg);
        } else {
            console.error("usage: check-infra.js dockerfile FILE | terraform ROOT | schema ROOT | workflows ROOT");
            process.exit(2);
        }
    } catch (e) {
        notOk(`${cmd}: ${String(e && e.stack ? e.stack : e).split("\n").slice(0, 3).join(" ")}`);
    }
}

main();
