// MessagingConfigurations and Templates through the official `twilio` Node SDK, unchanged:
// create, list (one record per page, so it follows next_page_url), fetch, update, delete,
// the templates list with a FriendlyName filter, and Twilio-shaped refusals. Prints one
// JSON object for tests/services/test_messaging_configurations_node_sdk.py to check.
"use strict";

const twilio = require("twilio");

async function refusal(call) {
  try {
    await call();
  } catch (error) {
    return { status: error.status, code: error.code };
  }
  return null;
}

async function main() {
  const env = process.env;
  const client = twilio(env.ACCOUNT_SID, env.AUTH_TOKEN);
  client.edge = undefined; // else TWILIO_EDGE/TWILIO_REGION rewrite the host
  client.region = undefined;
  client.verify.baseUrl = env.BASE_URL;
  const service = client.verify.v2.services(env.SERVICE_SID);
  const row = (c) => ({
    accountSid: c.accountSid,
    serviceSid: c.serviceSid,
    country: c.country,
    messagingServiceSid: c.messagingServiceSid,
    dateCreated: c.dateCreated instanceof Date ? c.dateCreated.toISOString() : null,
    url: c.url,
  });

  const created = await service.messagingConfigurations.create({
    country: "de",
    messagingServiceSid: env.MG_ONE,
  });
  await service.messagingConfigurations.create({ country: "all", messagingServiceSid: env.MG_ONE });
  const duplicate = await refusal(() =>
    service.messagingConfigurations.create({ country: "DE", messagingServiceSid: env.MG_ONE })
  );
  const badCountry = await refusal(() =>
    service.messagingConfigurations.create({ country: "XX1", messagingServiceSid: env.MG_ONE })
  );
  const badSid = await refusal(() =>
    service.messagingConfigurations.create({ country: "FR", messagingServiceSid: "MG123" })
  );
  const listed = await service.messagingConfigurations.list({ pageSize: 1 });
  const updated = await service
    .messagingConfigurations("de")
    .update({ messagingServiceSid: env.MG_TWO });
  const fetched = await service.messagingConfigurations("DE").fetch();
  const deleted = await service.messagingConfigurations("DE").remove();
  const gone = await refusal(() => service.messagingConfigurations("DE").fetch());
  const left = await service.messagingConfigurations.list();

  const other = twilio(env.OTHER_ACCOUNT_SID, env.OTHER_AUTH_TOKEN);
  other.edge = undefined;
  other.region = undefined;
  other.verify.baseUrl = env.BASE_URL;
  const foreign = await refusal(() =>
    other.verify.v2.services(env.SERVICE_SID).messagingConfigurations("all").fetch()
  );

  const templates = await client.verify.v2.templates.list({ pageSize: 1 });
  const named = await client.verify.v2.templates.list({ friendlyName: env.TEMPLATE_NAME });
  const otherTemplates = await other.verify.v2.templates.list();
  console.log(
    JSON.stringify({
      created: row(created),
      duplicate,
      badCountry,
      badSid,
      listed: listed.map(row),
      updated: row(updated),
      fetched: row(fetched),
      deleted,
      gone,
      left: left.map((c) => c.country),
      foreign,
      templates: templates.map((t) => t.sid),
      named: named.map((t) => ({
        sid: t.sid,
        accountSid: t.accountSid,
        friendlyName: t.friendlyName,
        channels: t.channels,
        translations: t.translations,
      })),
      otherTemplates: otherTemplates.map((t) => t.sid),
    })
  );
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
