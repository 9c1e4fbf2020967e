// The account story in a real browser (Debian's chromium, driven by playwright-core):
// from "never heard of hashbuy" to a purchase charged once, then unlink and delete; and
// the refusals (a tampered state, a reused code, a form without its CSRF token, a
// tampered cookie), each a clear page that changes nothing. Run by tests/run.sh against
// `hashbuy-local serve` on localstripe; screenshots of each page, in English and
// French, go to $HASHBUY_ARTIFACTS.
//
//   HASHBUY_STACK_URL   the running stack (http://127.0.0.1:PORT)
//   HASHBUY_LOCAL_BIN   the hashbuy-local binary, which posts as a shopper
//   HASHBUY_ARTIFACTS   where screenshots go
//   CHROMIUM            the browser (default /usr/bin/chromium)

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const stack = process.env.HASHBUY_STACK_URL;
const localBin = process.env.HASHBUY_LOCAL_BIN;
const artifacts = process.env.HASHBUY_ARTIFACTS ?? "target/browser";
assert.ok(stack && localBin, "HASHBUY_STACK_URL and HASHBUY_LOCAL_BIN are needed");
mkdirSync(artifacts, { recursive: true });

const SHOPPER = { username: "ada_buys", id: "4242424242" };

async function json(path, init) {
  const response = await fetch(stack + path, init);
  assert.ok(response.ok, `${path}: HTTP ${response.status}`);
  return response.json();
}

/** Waits until every event and due post of the stack is handled. */
async function settle() {
  for (let i = 0; i < 200; i++) {
    const health = await json("/_local/health");
    if (health.bus.in_flight === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the stack did not settle");
}

/** Posts as the shopper (signed as X would); answers the post's id. */
function post(args) {
  const out = execFileSync(localBin, [...args, "--url", stack], { encoding: "utf8" });
  const id = out.match(/delivered post (\d+)/)?.[1];
  assert.ok(id, `no post id in: ${out}`);
  return id;
}

async function replyTo(postId) {
  await settle();
  const tweets = await json("/_local/tweets");
  const reply = tweets.findLast((t) => t.in_reply_to_tweet_id === postId);
  assert.ok(reply, `the brand never replied to ${postId}`);
  return reply;
}

/** The last email whose subject matches. */
async function lastEmail(subject) {
  await settle();
  const emails = await json("/_local/emails");
  const found = emails.findLast((e) => subject.test(e.subject));
  assert.ok(found, `no email like ${subject} among ${emails.length}`);
  return found;
}

/** The link in an email (SES on the emulator keeps only one of its parts). */
function linkIn(email) {
  const body = email.text ?? email.html ?? "";
  const link = body.match(/https?:\/\/[^\s"<]+/)?.[0];
  assert.ok(link, `no link in: ${body}`);
  return link;
}

let shots = 0;
async function shot(page, name) {
  shots += 1;
  await page.screenshot({ path: `${artifacts}/${String(shots).padStart(2, "0")}-${name}.png`, fullPage: true });
}

/** Types a test card into the processor's form (the emulator's Stripe.js stand-in). */
async function typeCard(page, number) {
  await page.locator("#card-element input").first().waitFor();
  await page.getByPlaceholder("number").fill(number);
  await page.getByPlaceholder("exp_month").fill("12");
  await page.getByPlaceholder("exp_year").fill("34");
  await page.getByPlaceholder("cvc").fill("123");
  await page.getByPlaceholder("postal_code").fill("75001");
}

/** Saves a shipping address on the account page; `labels` are the form's, in its language. */
async function saveAddress(page, [name, line1, city, postal, country, button, saved], address) {
  await page.getByLabel(name, { exact: true }).fill(address.name);
  await page.getByLabel(line1, { exact: true }).fill(address.line1);
  await page.getByLabel(city, { exact: true }).fill(address.city);
  await page.getByLabel(postal, { exact: true }).fill(address.postal);
  await page.getByLabel(country, { exact: true }).fill(address.country);
  await page.getByRole("button", { name: button }).click();
  await page.getByText(saved).waitFor();
  assert.equal(await page.getByLabel(city, { exact: true }).inputValue(), address.city);
}
const EN_ADDRESS = ["Name", "Address", "City", "Postal code", "Country (two letters)", "Save the address", "Your address is saved."];
const FR_ADDRESS = ["Nom", "Adresse", "Ville", "Code postal", "Pays (deux lettres)", "Enregistrer l'adresse", "Votre adresse est enregistrée."];

/** The local shop ships every order it has to ship, through the merchant API as a
 * brand does; answers their purchase ids. */
async function shipOrders() {
  const shop = await json("/_local/shop");
  const auth = { authorization: `Bearer ${shop.api_key}`, "content-type": "application/json" };
  const { orders } = await json("/merchant/v1/orders?status=to_ship", { headers: auth });
  for (const order of orders) {
    await json(`/merchant/v1/orders/${order.purchase_id}/shipment`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ carrier: "UPS", tracking: "1Z999AA10123456784" }),
    });
  }
  await settle();
  return orders.map((o) => o.purchase_id);
}

/** Signs in on the X stand-in's authorize page as `who`. */
async function signIn(page, who = SHOPPER) {
  await page.goto(`${stack}/account`);
  await page.getByRole("link", { name: /Sign in with X|Se connecter avec X/ }).click();
  await page.getByLabel("X username").fill(who.username);
  await page.getByLabel("X user id").fill(who.id);
  await page.getByRole("button", { name: "Authorize app" }).click();
  await page.waitForURL(`${stack}/account`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  // As root on a machine whose network is closed: no sandbox, no background calls.
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});

try {
  // ---- The story, in English.
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await page.goto(`${stack}/account`);
  assert.equal(await page.locator("h1").textContent(), "Buy with a post on X");
  // The stylesheet applies: the page's policy lets it in by its hash, and only it.
  const width = await page.locator("main").evaluate((m) => getComputedStyle(m).maxWidth);
  assert.equal(width, "640px", "the inlined stylesheet was blocked");
  await shot(page, "welcome-en");

  await signIn(page);
  await assert.doesNotReject(page.getByText("Signed in as @ada_buys").waitFor());
  await shot(page, "account-new-en");
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "hb_session");
  assert.ok(session?.httpOnly && session.sameSite === "Lax", "the session cookie is HttpOnly, Lax");

  // The email, verified through the link the outbox holds.
  await page.getByLabel("Email address").fill("ada@example.com");
  await page.getByRole("button", { name: "Send the verification link" }).click();
  await page.getByText("We sent a link to that address").waitFor();
  const verification = await lastEmail(/Verify your email/);
  assert.equal(verification.to, "ada@example.com");
  await page.goto(linkIn(verification));
  await shot(page, "verify-en");
  await page.getByRole("button", { name: "Verify" }).click();
  await page.getByText("Your email address is verified.").waitFor();
  // The link works once.
  await page.goto(linkIn(verification));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.getByText("not the latest one we sent, or it was already used").waitFor();

  // The card, typed into the processor's form (the emulator's Stripe.js stand-in).
  // Sent with no card typed: nothing saved, and the page says so.
  await page.goto(`${stack}/account/card`);
  await page.locator("#card-element input").first().waitFor();
  await page.getByRole("button", { name: "Save this card" }).click();
  await page.getByText("The card was not saved").waitFor();
  // A card the bank refuses when it is saved (Stripe's test card): said plainly.
  await page.goto(`${stack}/account/card`);
  await typeCard(page, "4000000000000002");
  await page.getByRole("button", { name: "Save this card" }).click();
  await page.getByText("Your bank refused this card. Try another one.").waitFor();
  await page.goto(`${stack}/account/card`);
  await typeCard(page, "4242424242424242");
  await shot(page, "card-en");
  await page.getByRole("button", { name: "Save this card" }).click();
  await page.getByText("Your card is saved.").waitFor();
  await page.getByText("You can buy with a post.").waitFor();
  assert.ok(await page.getByText("visa •••• 4242").isVisible());
  // Where the shop sends her parcel.
  await page.getByText("No address yet (needed for physical goods).").waitFor();
  await saveAddress(page, EN_ADDRESS, { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postal: "SW1Y 4JH", country: "GB" });
  assert.equal(await page.getByText("No address yet").count(), 0);
  await shot(page, "account-ready-en");
  // On a phone: the page fits the screen's width, nothing to scroll sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the account page is ${overflow}px wider than a phone`);
  await shot(page, "account-phone-en");
  await page.setViewportSize({ width: 1280, height: 720 });

  // Buying with a post: the hashtag, the brand's reply retweeted, the emailed link, Confirm.
  // The mug is the local shop's offer (a merchant like any other: it ships it).
  await json("/_local/products", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ hashtag: "BuyBrowserMug", name: "Browser mug", price_cents: 1500, currency: "USD", stock: 3 }),
  });
  // The public offers page lists it, with the shop's name and how to buy by post.
  await page.goto(`${stack}/offers`);
  await page.getByRole("heading", { name: "Browser mug" }).waitFor();
  await page.getByText("Local shop").waitFor();
  await shot(page, "offers-en");
  const asked = post(["tweet", "--as", SHOPPER.username, "I want one #BuyBrowserMug"]);
  const prompt = await replyTo(asked);
  assert.match(prompt.text, /retweet this/);
  post(["retweet", "--as", SHOPPER.username, prompt.id]);
  const confirmation = await lastEmail(/Confirm your purchase of Browser mug/);
  assert.equal(confirmation.to, "ada@example.com");
  await page.goto(linkIn(confirmation));
  await page.getByRole("button", { name: /Confirm and pay/ }).click();
  await page.getByText("Thank you, your purchase is complete").waitFor();
  await shot(page, "paid-en");
  const charges = await json("/_local/charges");
  assert.equal(charges.filter((c) => c.status === "succeeded").length, 1, "charged once");
  await page.goto(`${stack}/account`);
  await page.getByText(/Browser mug · \$15\.00 · paid, to be shipped · \d{4}-\d\d-\d\d$/).waitFor();
  // The shop sees her order with her address, ships it, and she gets the tracking.
  const shop = await json("/_local/shop");
  const { orders } = await json("/merchant/v1/orders?status=to_ship", { headers: { authorization: `Bearer ${shop.api_key}` } });
  assert.equal(orders.length, 1);
  assert.equal(orders[0].ship_to?.city, "London", JSON.stringify(orders[0]));
  assert.deepEqual(await shipOrders(), [orders[0].purchase_id]);
  const tracking = await lastEmail(/^Shipped: Browser mug/);
  assert.equal(tracking.to, "ada@example.com");
  assert.match(tracking.text ?? tracking.html ?? "", /1Z999AA10123456784/);
  await page.goto(`${stack}/account`);
  await page.getByText(/Browser mug · \$15\.00 · shipped · \d{4}-\d\d-\d\d · UPS 1Z999AA10123456784/).waitFor();
  await shot(page, "account-shipped-en");

  // Unlink: a new post gets the "link your account" reply, and nothing is held.
  await page.goto(`${stack}/account`);
  await page.getByRole("button", { name: "Unlink my X account" }).click();
  await page.getByText("Your X account is unlinked").waitFor();
  const again = post(["tweet", "--as", SHOPPER.username, "--id", SHOPPER.id, "Another #BuyBrowserMug"]);
  assert.match((await replyTo(again)).text, /first link your X account/);
  await shot(page, "unlinked-en");

  // Delete: the account page is gone, the shopper signed out.
  await page.getByRole("button", { name: "Delete my data" }).click();
  await page.getByRole("heading", { name: "Your data is deleted" }).waitFor();
  await shot(page, "deleted-en");
  await page.goto(`${stack}/account`);
  assert.equal(await page.locator("h1").textContent(), "Buy with a post on X");
  const linked = await json("/_local/accounts");
  assert.ok(!linked.some((a) => a.x_user_id === SHOPPER.id), "no longer linked");
  const hers = (await json("/_local/purchases")).filter((p) => p.x_user_id === SHOPPER.id);
  assert.ok(hers.length === 1 && hers[0].erased, "her shipped purchase keeps no email");
  await context.close();

  // ---- A card whose bank wants the shopper (3-D Secure), when saved and when charged:
  // the processor's own challenge in the page, answered by the shopper.
  const bank = await browser.newContext({ locale: "en-US" });
  const bobPage = await bank.newPage();
  const bob = { username: "bob_buys", id: "7373737373" };
  await signIn(bobPage, bob);
  await bobPage.getByLabel("Email address").fill("bob@example.com");
  await bobPage.getByRole("button", { name: "Send the verification link" }).click();
  await bobPage.goto(linkIn(await lastEmail(/Verify your email/)));
  await bobPage.getByRole("button", { name: "Verify" }).click();
  await bobPage.goto(`${stack}/account/card`);
  await typeCard(bobPage, "4000002500003155");
  await bobPage.getByRole("button", { name: "Save this card" }).click();
  await bobPage.getByRole("button", { name: "Complete authentication" }).click();
  await bobPage.getByText("Your card is saved.").waitFor();
  await saveAddress(bobPage, EN_ADDRESS, { name: "Bob Marley", line1: "56 Hope Road", city: "Kingston", postal: "JMAKN06", country: "JM" });
  const bobAsked = post(["tweet", "--as", bob.username, "#BuyBrowserMug for me"]);
  post(["retweet", "--as", bob.username, (await replyTo(bobAsked)).id]);
  await bobPage.goto(linkIn(await lastEmail(/Confirm your purchase of Browser mug/)));
  await bobPage.getByRole("button", { name: /Confirm and pay/ }).click();
  await bobPage.getByRole("heading", { name: "Your bank wants you to approve this payment" }).waitFor();
  await shot(bobPage, "bank-en");
  // He closes the page and answers from the bank's email, whose link is its own.
  await bobPage.goto(linkIn(await lastEmail(/Your bank asks you to approve Browser mug/)));
  await bobPage.getByRole("heading", { name: "Your bank wants you to approve this payment" }).waitFor();
  await bobPage.getByRole("button", { name: "Approve with my bank" }).click();
  await bobPage.getByRole("button", { name: "Complete authentication" }).click();
  await bobPage.getByText("Thank you, your purchase is complete").waitFor();
  await shot(bobPage, "bank-approved-en");
  const paid = (await json("/_local/charges")).filter((c) => c.status === "succeeded");
  assert.equal(paid.length, 2, "ada's and bob's, each once");
  await bank.close();

  // ---- The same pages in French (the browser's language).
  const fr = await browser.newContext({ locale: "fr-FR" });
  const frPage = await fr.newPage();
  await frPage.goto(`${stack}/account`);
  assert.equal(await frPage.locator("h1").textContent(), "Acheter par un post sur X");
  assert.equal(await frPage.locator("html").getAttribute("lang"), "fr");
  await shot(frPage, "welcome-fr");
  await signIn(frPage, { username: "zoe_achete", id: "5151515151" });
  await frPage.getByText("Connecté en tant que @zoe_achete").waitFor();
  await shot(frPage, "account-fr");
  await frPage.getByLabel("Adresse email").fill("zoe@example.com");
  await frPage.getByRole("button", { name: "Envoyer le lien de vérification" }).click();
  const frVerification = await lastEmail(/Vérifiez votre adresse email/);
  await frPage.goto(linkIn(frVerification));
  await shot(frPage, "verify-fr");
  await frPage.getByRole("button", { name: "Vérifier" }).click();
  await frPage.getByText("Votre adresse email est vérifiée.").waitFor();
  await frPage.goto(`${stack}/offers`);
  await frPage.getByRole("heading", { name: "Browser mug" }).waitFor();
  assert.equal(await frPage.locator("html").getAttribute("lang"), "fr");
  await shot(frPage, "offers-fr");
  await frPage.goto(`${stack}/account/card`);
  await typeCard(frPage, "4242424242424242");
  await shot(frPage, "card-fr");
  await frPage.getByRole("button", { name: "Enregistrer cette carte" }).click();
  await frPage.getByText("Vous pouvez acheter par un post.").waitFor();
  await saveAddress(frPage, FR_ADDRESS, { name: "Zoé Martin", line1: "8 rue de Rivoli", city: "Paris", postal: "75004", country: "FR" });
  // Her purchase speaks French too: the email, the confirmation page, the money.
  const zoeAsked = post(["tweet", "--as", "zoe_achete", "#BuyBrowserMug"]);
  post(["retweet", "--as", "zoe_achete", (await replyTo(zoeAsked)).id]);
  await frPage.goto(linkIn(await lastEmail(/Confirmez votre achat de Browser mug/)));
  assert.equal(await frPage.locator("html").getAttribute("lang"), "fr");
  await shot(frPage, "confirm-fr");
  await frPage.getByRole("button", { name: /Confirmer et payer 15,00/ }).click();
  await frPage.getByText("Merci, votre achat est terminé").waitFor();
  await shot(frPage, "paid-fr");
  await frPage.goto(`${stack}/account`);
  await frPage.getByText(/Browser mug · 15,00.\$US · payé, à expédier/).waitFor();
  await shipOrders();
  await frPage.goto(`${stack}/account`);
  await frPage.getByText(/Browser mug · 15,00.\$US · expédié · .* · UPS 1Z999AA10123456784/).waitFor();
  await shot(frPage, "account-bought-fr");
  // Unlinked, then deleted, in French too.
  await frPage.getByRole("button", { name: "Délier mon compte X" }).click();
  await frPage.getByText("Votre compte X est délié").waitFor();
  await shot(frPage, "unlinked-fr");
  await frPage.getByRole("button", { name: "Supprimer mes données" }).click();
  await frPage.getByRole("heading", { name: "Vos données sont supprimées" }).waitFor();
  await shot(frPage, "deleted-fr");
  const frRefused = await frPage.goto(`${stack}/account/callback?code=x&state=y`);
  assert.equal(frRefused.status(), 400);
  await frPage.getByText("La connexion avec X n'a pas abouti.").waitFor();
  await shot(frPage, "refused-fr");

  // ---- Refusals, each a clear page, nothing changed.
  // A tampered state: the sign-in cookie is set, X's answer carries another state.
  const attacker = await browser.newContext({ locale: "en-US" });
  const tab = await attacker.newPage();
  await tab.goto(`${stack}/account/signin`);
  const authorize = new URL(tab.url());
  const forged = await tab.goto(`${stack}/account/callback?code=anything&state=${authorize.searchParams.get("state")}x`);
  assert.equal(forged.status(), 400);
  await tab.getByText("The sign-in with X did not complete. Nothing was saved.").waitFor();
  await shot(tab, "refused-state-en");

  // A wrong verifier: the authorize request's challenge swapped on the way to X, so the
  // code X issues answers another verifier than the one hashbuy kept.
  await tab.goto(`${stack}/account/signin`);
  const swapped = new URL(tab.url());
  swapped.searchParams.set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  await tab.goto(swapped.toString());
  await tab.getByLabel("X username").fill("mallory");
  await tab.getByLabel("X user id").fill("6161616161");
  await tab.getByRole("button", { name: "Authorize app" }).click();
  await tab.getByText("The sign-in with X did not complete. Nothing was saved.").waitFor();
  assert.ok(!(await attacker.cookies()).some((c) => c.name === "hb_session"), "not signed in");
  await shot(tab, "refused-verifier-en");

  // A reused code: the browser's own return, replayed after it was spent.
  let callback;
  tab.on("request", (r) => { if (r.url().includes("/account/callback?code=")) callback = r.url(); });
  await signIn(tab, { username: "mallory", id: "6161616161" });
  assert.ok(callback, "saw the return from X");
  await tab.goto(`${stack}/account/signin`); // a fresh sign-in cookie, state unknown to the code
  const replayed = await tab.goto(callback);
  assert.equal(replayed.status(), 400, "a spent code signs nobody in");

  // A form without the session's CSRF token (another site's POST would look like this).
  // The session from mallory's sign-in above still holds.
  await tab.goto(`${stack}/account`);
  await tab.getByText("Signed in as @mallory").waitFor();
  const noToken = await tab.request.post(`${stack}/account/unlink`, { form: { csrf: "guess" } });
  assert.equal(noToken.status(), 403);
  assert.match(await noToken.text(), /This form is out of date. Nothing changed./);

  // A tampered session cookie: signed out, the form refused.
  const [own] = (await attacker.cookies()).filter((c) => c.name === "hb_session");
  const flipped = own.value.slice(0, -2) + (own.value.endsWith("AA") ? "BB" : "AA");
  await attacker.addCookies([{ ...own, value: flipped }]);
  const tampered = await tab.request.post(`${stack}/account/delete`, { form: { csrf: "x" } });
  assert.equal(tampered.status(), 401);
  await tab.goto(`${stack}/account`);
  assert.equal(await tab.locator("h1").textContent(), "Buy with a post on X", "signed out");
  await attacker.close();

  console.log(`browser: the account story and 5 refusals passed; ${shots} screenshots in ${artifacts}`);
} finally {
  await browser.close();
}
