// The Attempts API through the official `twilio` Node SDK, unchanged: list (with filters,
// one record per page so that it follows next_page_url), fetch and the summary. Prints one
// JSON object for tests/integration/test_attempts_node_sdk.py to check.
"use strict";

const twilio = require("twilio");

async function main() {
  const env = process.env;
  const client = twilio(env.ACCOUNT_SID, env.AUTH_TOKEN);
  client.edge = undefined; // else TWILIO_EDGE/TWILIO_REGION rewrite the host
  client.region = undefined;
  client.verify.baseUrl = env.BASE_URL;
  const v2 = client.verify.v2;

  const all = await v2.verificationAttempts.list({ pageSize: 1 });
  const converted = await v2.verificationAttempts.list({
    status: "converted",
    verifyServiceSid: env.SERVICE_SID,
    dateCreatedAfter: new Date(Date.now() - 3600 * 1000),
  });
  const byTo = await v2.verificationAttempts.list({ "channelData.to": env.PENDING_TO });
  const fetched = await v2.verificationAttempts(all[0].sid).fetch();
  const summary = await v2.verificationAttemptsSummary().fetch({ channel: "sms" });
  let missing = null;
  try {
    await v2.verificationAttempts("VL" + "0".repeat(32)).fetch();
  } catch (error) {
    missing = { status: error.status, code: error.code };
  }
  const row = (a) => ({
    sid: a.sid,
    verificationSid: a.verificationSid,
    serviceSid: a.serviceSid,
    accountSid: a.accountSid,
    conversionStatus: a.conversionStatus,
    channel: a.channel,
    price: a.price,
    channelData: a.channelData,
    dateCreated: a.dateCreated instanceof Date ? a.dateCreated.toISOString() : null,
    url: a.url,
  });
  console.log(
    JSON.stringify({
      all: all.map(row),
      converted: converted.map((a) => a.sid),
      byTo: byTo.map((a) => a.verificationSid),
      fetched: row(fetched),
      summary: {
        totalAttempts: summary.totalAttempts,
        totalConverted: summary.totalConverted,
        totalUnconverted: summary.totalUnconverted,
        conversionRatePercentage: summary.conversionRatePercentage,
      },
      missing,
    })
  );
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
