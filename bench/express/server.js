// server.js: the Express callback handler of SEED.md (the reference design),
// kept as written: express.json({limit:'1mb'}), an HMAC over
// JSON.stringify(req.body) checked only when both secret and header are there
// (timingSafeEqual throws on a length mismatch), 200 before processing, then
// processEnrichedLead. Only the TypeScript types are gone, so `node` runs it.
//
// What SEED.md leaves undefined is filled in the way its Step 5 suggests:
// pushToOutreachSequence / addToNurtureCampaign post to OUTREACH_WEBHOOK_URL /
// NURTURE_WEBHOOK_URL and Zapier (triggerZapier, notifySlack as in Step 5),
// each only when its URL is set, so with no URLs the route is computed and
// nothing is sent, as for clay-function without sinks. Added for the bench:
// GET /healthz (cold-start probe) and PORT. Nothing on the callback path.
//
//   PORT=8080 CLAY_WEBHOOK_SECRET=s node server.js
'use strict';
const express = require('express');
const crypto = require('crypto');

const app = express();
app.use(express.json({ limit: '1mb' }));

// Signature verification middleware
function verifyClaySignature(req, res, next) {
  const signature = req.headers['x-clay-signature'];
  const secret = process.env.CLAY_WEBHOOK_SECRET;
  if (secret && signature) {
    const expected = crypto.createHmac('sha256', secret)
      .update(JSON.stringify(req.body))
      .digest('hex');
    if (!crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) {
      return res.status(401).json({ error: 'Invalid signature' });
    }
  }
  next();
}

// Main callback endpoint
app.post('/api/clay/enriched', verifyClaySignature, async (req, res) => {
  // Respond 200 immediately — Clay expects fast response
  res.json({ received: true, timestamp: new Date().toISOString() });
  // Process enriched data async
  try {
    await processEnrichedLead(req.body);
  } catch (err) {
    console.error('Failed to process enriched lead:', err);
  }
});

async function processEnrichedLead(lead) {
  // Route based on ICP score
  if (lead.icp_score && lead.icp_score >= 80 && lead.email) {
    await pushToOutreachSequence(lead);
  } else if (lead.icp_score && lead.icp_score >= 50) {
    await addToNurtureCampaign(lead);
  } else {
    console.log(`Low-score lead skipped: ${lead.email} (score: ${lead.icp_score})`);
  }
}

// Step 5's integrations; SEED.md calls the two routes without defining them.
async function postJson(url, payload) {
  await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(payload),
  });
}

async function pushToOutreachSequence(lead) {
  if (process.env.OUTREACH_WEBHOOK_URL) await postJson(process.env.OUTREACH_WEBHOOK_URL, lead);
  await triggerZapier(lead);
  await notifySlack(lead);
}

async function addToNurtureCampaign(lead) {
  if (process.env.NURTURE_WEBHOOK_URL) await postJson(process.env.NURTURE_WEBHOOK_URL, lead);
  await triggerZapier(lead);
  await notifySlack(lead);
}

// Zapier webhook trigger
async function triggerZapier(lead) {
  if (!process.env.ZAPIER_WEBHOOK_URL) return;
  await postJson(process.env.ZAPIER_WEBHOOK_URL, lead);
}

// Slack notification for high-value leads
async function notifySlack(lead) {
  if (!lead.icp_score || lead.icp_score < 90) return;
  if (!process.env.SLACK_WEBHOOK_URL) return;
  await postJson(process.env.SLACK_WEBHOOK_URL, {
    text: `Hot lead from Clay: ${lead.first_name} ${lead.last_name} (${lead.job_title}) at ${lead.company_name} - ICP Score: ${lead.icp_score}`,
  });
}

app.get('/healthz', (req, res) => res.json({ status: 'ok' }));

const port = Number(process.env.PORT || 8080);
app.listen(port, '127.0.0.1', () => {
  console.error(`listening on http://127.0.0.1:${port}`);
});
