#!/usr/bin/env node
// Answers GoCD's package-repository messages with the example response bodies of GoCD's plugin
// API documentation (gocd/plugin-api.go.cd: source/includes/package-repo/_030 … _100), byte for
// byte, and appends every request it receives to requests.jsonl in its folder.
import { appendFileSync, readFileSync } from 'node:fs';

const name = process.argv[2];
const body = readFileSync(0, 'utf8');
appendFileSync('requests.jsonl', `${JSON.stringify({ name, body })}\n`);
const request = body ? JSON.parse(body) : {};

const answers = {
  'repository-configuration': `{
  "REPO_URL": {
    "display-name": "Repository URL",
    "display-order": "0"
  },
  "USERNAME": {
    "part-of-identity": false,
    "required": false,
    "display-name": "User",
    "display-order": "1"
  },
  "PASSWORD": {
    "secure": true,
    "part-of-identity": false,
    "required": false,
    "display-name": "Password",
    "display-order": "2"
  }
}`,
  'package-configuration': `{
  "Field_1": {
    "display-name": "Package Spec",
    "display-order": "0",
    "default-value": "DEF",
    "secure": false,
    "part-of-identity": true,
    "required": true
  },
  "Field_2": {
    "display-name": "Field 2",
    "display-order": "1",
    "default-value": "ABC",
    "secure": true,
    "part-of-identity": true,
    "required": false
  }
}`,
  // The documented error answers, when what they complain of is so; else valid ([] and "").
  'validate-repository-configuration': request['repository-configuration']?.REPO_URL
    ? '[]'
    : `[
  {
    "key": "REPO_URL",
    "message": "Repository url not specified"
  },
  {
    "key": "RANDOM",
    "message": "Unsupported key(s) found : RANDOM. Allowed key(s) are : REPO_URL, USERNAME, PASSWORD"
  }
]`,
  'validate-package-configuration': request['package-configuration']?.Field_1
    ? ''
    : `[
  {
    "key": "PACKAGE_SPEC",
    "message": "Package spec not specified"
  },
  {
    "key": "RANDOM",
    "message": "Unsupported key(s) found: RANDOM. Allowed key(s) are: PACKAGE_SPEC"
  }
]`,
  'check-repository-connection': `{
  "status": "success",
  "messages": [
    "Successfully connected to repository url provided"
  ]
}`,
  'check-package-connection': `{
  "status": "success",
  "messages": [
    "Successfully found package abc.rpm"
  ]
}`,
  'latest-revision': `{
  "revision": "abc-10.2.1.rpm",
  "timestamp": "2011-07-14T19:43:37.100Z",
  "user": "some-user",
  "revisionComment": "comment",
  "trackbackUrl": "http://localhost:9999",
  "data": {
    "VERSION": "5.3.0",
    "LOCATION": "http://www.sample.org/location/of/package",
    "DATA-THREE": "data-three-value"
  }
}`,
  // The documented answer is newer than the documented previous revision; nothing is newer than it.
  'latest-revision-since':
    request['previous-revision']?.revision === 'abc-10.2.1.rpm'
      ? `{
  "revision": "abc-10.2.2.rpm",
  "timestamp": "2011-07-14T19:45:37.100Z",
  "user": "some-user",
  "revisionComment": "comment 2",
  "trackbackUrl": "http://localhost:9999",
  "data": {
    "dataKeyOne": "data-value-one-1",
    "dataKeyTwo": "data-value-two-2"
  }
}`
      : '{}',
};

if (!(name in answers)) {
  process.stderr.write(`Invalid request name ${name}\n`);
  process.exit(1);
}
process.stdout.write(answers[name]);
