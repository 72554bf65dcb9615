// check-infra.js: the parsing checks of scripts/check-infra.sh (which installs
// the npm packages this file requires and sets NODE_PATH). Prints one line per
// check, "ok - ..." or "not ok - ...", and exits 0; the shell script counts.
//
//   node check-infra.js dockerfile <Dockerfile>
//   node check-infra.js terraform <repo root>
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

    const build = stages.find((s) => s.image === "debian" && s.tag === "bookworm");
    check(build !== undefined, "Dockerfile: a debian:bookworm build stage");
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

async function main() {
    const [cmd, arg] = process.argv.slice(2);
    try {
        if (cmd === "dockerfile") {
            checkDockerfile(arg);
        } else if (cmd === "terraform") {
            await checkTerraform(arg);
        } else {
            console.error("usage: check-infra.js dockerfile FILE | terraform ROOT");
            process.exit(2);
        }
    } catch (e) {
        notOk(`${cmd}: ${String(e && e.stack ? e.stack : e).split("\n").slice(0, 3).join(" ")}`);
    }
}

main();
