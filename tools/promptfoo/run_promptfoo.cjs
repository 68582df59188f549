// Runs parity_cases.json through promptfoo's own runAssertion and prints {id: {pass, score, error}} as JSON.
// Usage: NODE_PATH=<dir with node_modules/promptfoo> node run_promptfoo.cjs parity_cases.json > promptfoo_results.json
const fs = require('fs');
const pf = require('promptfoo');

(async () => {
  const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const out = {};
  for (const c of cases) {
    try {
      const r = await pf.assertions.runAssertion({
        prompt: 'prompt',
        assertion: c.assertion,
        test: { vars: c.vars || {} },
        providerResponse: { output: c.output, finishReason: c.finishReason, logProbs: c.logProbs },
      });
      out[c.id] = { pass: r.pass, score: r.score, reason: r.reason };
    } catch (e) {
      out[c.id] = { error: String(e && e.message ? e.message : e).slice(0, 200) };
    }
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
})();
