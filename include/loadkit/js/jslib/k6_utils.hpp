#pragma once
// https://jslib.k6.io/k6-utils/1.x.x/index.js, served from here (loadkit
// never downloads a module): the same functions as k6's utils library,
// written for loadkit from its documentation, with the same results.
// Deliberate difference: `check` records real checks (k6's `check`, so they
// appear in the summary's checks and root_group) where k6-utils only adds
// samples to the `checks` rate.
#include <string_view>

#include "../../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail::jslib {

inline constexpr std::string_view k6_utils_source = R"JS(
import { check as k6check } from 'k6';
import { randomBytes } from 'k6/crypto';
import exec from 'k6/execution';

// Both bounds included.
export function randomIntBetween(min, max) {
  return Math.floor(min + Math.random() * (max - min + 1));
}

export function randomItem(items) {
  return items[Math.floor(Math.random() * items.length)];
}

export function randomString(length, charset = 'abcdefghijklmnopqrstuvwxyz') {
  const out = [];
  for (let n = length; n > 0; n--) out.push(charset[Math.floor(Math.random() * charset.length)]);
  return out.join('');
}

// A version 4 UUID; `secure` takes its bits from k6/crypto's randomBytes
// (OpenSSL) instead of Math.random.
export function uuidv4(secure = false) {
  const bytes = secure ? new Uint8Array(randomBytes(16)) : Uint8Array.from({ length: 16 }, () => Math.floor(Math.random() * 256));
  bytes[6] = 0x40 | (bytes[6] & 0x0f);
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += bytes[i].toString(16).padStart(2, '0');
  }
  return s;
}

// The text between `left` and the next `right`: the first one (null when
// none), or with `repeat` every one after another (null when none).
export function findBetween(content, left, right, repeat = false) {
  const found = [];
  let from = 0;
  for (;;) {
    const l = content.indexOf(left, from);
    if (l < 0) break;
    const start = l + left.length;
    const end = content.indexOf(right, start);
    if (end < 0) break;
    const piece = content.substring(start, end);
    if (!repeat) return piece;
    found.push(piece);
    if (end + right.length === from) break;  // '' and '': the same empty match again
    from = end + right.length;
  }
  return found.length > 0 ? found : null;
}

// Stages whose targets follow a bell curve: a ramp-up stage and a ramp-down
// stage of a sixth of the duration each, and `stages` stages sharing the
// other two thirds, their targets the normal density over [-2, 2] scaled so
// that the peak is maxVUs.
export function normalDistributionStages(maxVUs, durationSeconds, stages = 10) {
  const density = (x) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
  const points = [];
  for (let i = 0; i <= stages; i++) points.push(density(-2 + (4 * i) / stages));
  points.push(0);
  const peak = Math.max(...points);
  const edge = Math.ceil(durationSeconds / 6);
  const middle = Math.ceil((4 * durationSeconds) / (6 * stages));
  return points.map((p, i) => ({
    duration: `${i === 0 || i === stages + 1 ? edge : middle}s`,
    target: Math.round((p * maxVUs) / peak),
  }));
}

// k6's duration strings ("1m30s", "500ms", "2h"), in milliseconds; a bare
// number is milliseconds.
export function parseDuration(text) {
  if (text === null || text === undefined || String(text).length === 0) throw new Error('expected a duration, got an empty one');
  const s = String(text);
  const units = { d: 86400000, h: 3600000, m: 60000, s: 1000, ms: 1 };
  const seen = new Set();
  let total = 0, at = 0;
  while (at < s.length) {
    const m = /^(\d+(?:\.\d*)?|\.\d+)(ms|d|h|m|s)?/.exec(s.slice(at));
    if (!m) throw new Error(`'${s}' is not a duration (unexpected '${s.slice(at)}')`);
    const unit = m[2] || '';
    if (unit && seen.has(unit)) throw new Error(`${unit} time unit is provided multiple times`);
    if (unit) seen.add(unit);
    const v = parseFloat(m[1]);
    total += unit === 'ms' ? Math.trunc(v) : unit ? v * units[unit] : v;
    at += m[0].length;
  }
  return total;
}

// The index of the current scenario's running stage (ramping-vus and
// ramping-arrival-rate only).
export function getCurrentStageIndex() {
  const scenario = ((exec.test.options || {}).scenarios || {})[exec.scenario.name];
  if (!scenario) throw new Error(`the test's options have no scenario '${exec.scenario.name}'`);
  if (!Array.isArray(scenario.stages))
    throw new Error('only ramping-vus and ramping-arrival-rate have stages: there is no stage index for executor ' + scenario.executor);
  if (scenario.stages.length === 0) throw new Error(`scenario '${exec.scenario.name}' has no stages`);
  const elapsed = Date.now() - exec.scenario.startTime;
  let end = 0;
  for (let i = 0; i < scenario.stages.length; i++) {
    end += parseDuration(scenario.stages[i].duration);
    if (elapsed < end) return i;
  }
  return scenario.stages.length - 1;
}

export function tagWithCurrentStageIndex() {
  exec.vu.tags['stage'] = getCurrentStageIndex();
}

// 'ramp-up', 'steady' or 'ramp-down', from the current stage's target
// against the one before it (the first stage ramps up).
export function tagWithCurrentStageProfile() {
  const i = getCurrentStageIndex();
  let profile = 'ramp-up';
  if (i > 0) {
    const stages = exec.test.options.scenarios[exec.scenario.name].stages;
    const now = stages[i].target, before = stages[i - 1].target;
    profile = now > before ? 'ramp-up' : now === before ? 'steady' : 'ramp-down';
  }
  exec.vu.tags['stage_profile'] = profile;
}

// k6's check for values that may be promises: a promise (the value, or a
// checker's result) is awaited and the whole call returns a promise of
// whether every check passed; without promises it is k6's check.
export function check(value, checkers, tags) {
  if (value instanceof Promise) return value.then((v) => check(v, checkers, tags));
  const names = Object.keys(checkers);
  const results = names.map((name) => {
    const c = checkers[name];
    return typeof c === 'function' ? c(value) : c;
  });
  const record = (outcomes) => {
    let all = true;
    names.forEach((name, i) => {
      if (!k6check(null, { [name]: () => outcomes[i] }, tags)) all = false;
    });
    return all;
  };
  if (results.some((r) => r instanceof Promise)) return Promise.all(results).then(record);
  return record(results);
}

export default {
  randomIntBetween, randomItem, randomString, uuidv4, findBetween, normalDistributionStages, parseDuration,
  getCurrentStageIndex, tagWithCurrentStageIndex, tagWithCurrentStageProfile, check,
};
)JS";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::jslib
