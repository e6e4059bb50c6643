#!/usr/bin/env node
// Answers GoCD's package-repository messages with the response bodies of GoCD's own handler
// test (gocd/gocd: plugin-infra/go-plugin-access/src/test/java/com/thoughtworks/go/plugin/access/
// packagematerial/JsonMessageHandler1_0Test.java), which GoCD's server reads with Gson's
// lenient reader, and appends every request it receives to requests.jsonl in its folder.
import { appendFileSync, readFileSync } from 'node:fs';

const name = process.argv[2];
const body = readFileSync(0, 'utf8');
appendFileSync('requests.jsonl', `${JSON.stringify({ name, body })}\n`);
const request = body ? JSON.parse(body) : {};

const configuration =
  '{"key-one":{},"key-two":{"default-value":"two","part-of-identity":true,"secure":true,"required":true,"display-name":"display-two","display-order":"1"},' +
  '"key-three":{"default-value":"three","part-of-identity":false,"secure":false,"required":false,"display-name":"display-three","display-order":"2"}}';
const revision =
  '{"revision":"abc.rpm","timestamp":"2011-07-14T19:43:37.100Z","user":"some-user","revisionComment":"comment",' +
  '"trackbackUrl":"http:\\\\localhost:9999","data":{"dataKeyOne":"data-value-one","dataKeyTwo":"data-value-two"}}';
const invalid = '[{"key":"key-one","message":"incorrect value"},{"message":"general error"}]';
const valid = (config) => config?.['key-one']?.value === 'value-one';

const answers = {
  'repository-configuration': configuration,
  // The test's request bodies carry key-three and key-four at the package level.
  'package-configuration': '{"key-three":{},"key-four":{}}',
  'validate-repository-configuration': valid(request['repository-configuration']) ? '' : invalid,
  'validate-package-configuration': valid(request['repository-configuration']) ? '' : invalid,
  'check-repository-connection': '{"status":"success",messages=["message-one","message-two"]}',
  'check-package-connection': '{"status":"failure",messages=["message-one","message-two"]}',
  'latest-revision': revision,
  'latest-revision-since': request['previous-revision']?.revision === 'abc.rpm' ? '' : revision,
};

if (!(name in answers)) {
  process.stderr.write(`Invalid request name ${name}\n`);
  process.exit(1);
}
process.stdout.write(answers[name]);
