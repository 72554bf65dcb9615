// signed_bodies.js: writes COUNT Clay-style callback bodies, one per line as
// "<hex HMAC-SHA256(secret, body)>\t<body>", for bench/callback.lua and
// bench/openloop. Bodies are distinct (a sequence number in the email, the
// LinkedIn URL and the opener) and compact, so JSON.stringify(JSON.parse(b))
// === b: the Express reference (which signs its re-serialisation) and
// clay-function (which signs the raw bytes) both accept the same signature.
// icp_score cycles 0..99, so the routes mix as outreach 20%, nurture 30%, skip 50%.
//
//   node signed_bodies.js SECRET COUNT OUT [START]
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const [secret, countArg, out, startArg] = process.argv.slice(2);
const count = Number(countArg);
const start = Number(startArg || 0);
if (!secret || !out || !Number.isInteger(count) || count < 1 || !Number.isInteger(start)) {
  console.error('usage: node signed_bodies.js SECRET COUNT OUT [START]');
  process.exit(2);
}
const firsts = ['Jane', 'Omar', 'Mei', 'Lucas', 'Priya', 'Tom', 'Ana', 'Kenji'];
const lasts = ['Doe', 'Haddad', 'Chen', 'Martin', 'Rao', 'Berg', 'Silva', 'Sato'];
const titles = ['VP Sales', 'Head of Growth', 'CTO', 'RevOps Manager', 'Founder'];
const industries = ['Software', 'Fintech', 'Healthcare', 'Logistics', 'Retail'];
const fd = fs.openSync(out, 'w');
let chunk = [];
for (let i = start; i < start + count; i++) {
  const lead = {
    email: `lead${i}@acme${i % 997}.com`,
    first_name: firsts[i % firsts.length],
    last_name: lasts[(i >> 3) % lasts.length],
    company_name: `Acme ${i % 997} Inc`,
    job_title: titles[i % titles.length],
    employee_count: 10 + (i % 5000),
    industry: industries[i % industries.length],
    linkedin_url: `https://www.linkedin.com/in/lead-${i}`,
    icp_score: i % 100,
    personalized_opener: `Saw Acme ${i % 997} is hiring a ${titles[i % titles.length]}: congrats, lead ${i}.`,
  };
  const body = JSON.stringify(lead);
  const sig = crypto.createHmac('sha256', secret).update(body).digest('hex');
  chunk.push(`${sig}\t${body}\n`);
  if (chunk.length === 10000) {
    fs.writeSync(fd, chunk.join(''));
    chunk = [];
  }
}
fs.writeSync(fd, chunk.join(''));
fs.closeSync(fd);
