// The judging page: the name form, and on a game page its board (one renderer per view kind, RENDERERS), the
// move stepper (buttons and keys), the step checks and the verdict form. Text is set with textContent only.
'use strict';

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
}

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(text || `HTTP ${response.status}`);
  return JSON.parse(text);
}

// ---------------------------------------------------------------------------------------------------------
// Name: entered once, kept in a cookie (set by the server) and localStorage.

const nameForm = document.getElementById('name-form');
if (nameForm) {
  const input = document.getElementById('name-input');
  if (!document.getElementById('judge-name') && localStorage.getItem('judgeName')) {
    input.value = localStorage.getItem('judgeName');
  }
  nameForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const saved = await postJSON('/api/name', {name: input.value});
      localStorage.setItem('judgeName', saved.name);
      location.reload();
    } catch (error) {
      document.getElementById('name-error').textContent = error.message;
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// Renderers: moves(data) -> number of moves to step through; draw(board, data, shownMoves).

const SUBSCRIPTS = {'0': '₀', '1': '₁', '2': '₂', '3': '₃', '4': '₄', '5': '₅', '6': '₆', '7': '₇', '8': '₈', '9': '₉', '-': '₋', 't': 'ₜ', 'T': 'ₜ'};
const x = (t) => 'x' + String(t).split('').map((c) => SUBSCRIPTS[c] || c).join('');  // x(3) = x₃
const op = (o, m) => `x ↦ (${o[0]}·x + ${o[1]}) mod ${m}`;
const stepValue = (o, x, m) => (((o[0] * x + o[1]) % m) + m) % m;

function chainHeader(s) {
  return el('p', {class: 'task'},
    `Chain: ${x(0)} = ${s.x0}, T = ${s.T} steps over ℤ${x(s.modulus).slice(1)}; step t maps ${x('t-1')} to ${x('t')} = (uₜ·${x('t-1')} + vₜ) mod ${s.modulus}.`);
}

function sideClass(name) {
  return name.endsWith('A') ? 'side-a' : name.endsWith('B') ? 'side-b' : 'side-c';
}

const chainDebate = {
  moves: (d) => d.shown.rounds.length + 1,
  draw(board, d, shownMoves) {
    const s = d.shown;
    board.append(chainHeader(s));
    board.append(el('p', {class: 'claims'}, ...s.sides.map((side) =>
      el('span', {class: `claim ${sideClass(side.name)}`}, `${side.name} claims ${x(s.T)} = ${side.claim}`))));
    const rounds = el('ol', {class: 'rounds'});
    s.rounds.slice(0, shownMoves).forEach((r, i) => {
      const agree = r.claims[0] === r.claims[1];
      const next = agree ? `[${r.mid}, ${r.hi}]` : `[${r.lo}, ${r.mid}]`;
      rounds.append(el('li', {class: i === shownMoves - 1 ? 'current' : ''},
        `Round ${i + 1}: dispute [${r.lo}, ${r.hi}]. What is ${x(r.mid)}? `,
        el('span', {class: 'side-a'}, `A: ${r.claims[0]}`), ', ',
        el('span', {class: 'side-b'}, `B: ${r.claims[1]}`),
        ` → ${agree ? 'agree' : 'disagree'}, the dispute narrows to ${next}.`));
    });
    board.append(rounds);
    if (shownMoves > s.rounds.length) {
      const st = s.step;
      const result = el('span', {class: 'computed'});
      board.append(el('div', {class: 'disputed current'},
        el('p', {}, `The disputed step is t = ${st.t}. Both agree ${x(st.t - 1)} = ${st.input}; step ${st.t}: ${op(st.op, s.modulus)}.`),
        el('p', {}, el('span', {class: 'side-a'}, `Debater A: ${x(st.t)} = ${st.outputs[0]}`), ' · ',
          el('span', {class: 'side-b'}, `Debater B: ${x(st.t)} = ${st.outputs[1]}`)),
        el('p', {}, 'Check it yourself: ', el('button', {type: 'button', id: 'compute-step'}, 'compute the step'), ' ', result)));
      document.getElementById('compute-step').addEventListener('click', () => {
        result.textContent = `(${st.op[0]}·${st.input} + ${st.op[1]}) mod ${s.modulus} = ${stepValue(st.op, st.input, s.modulus)}`;
      });
    } else {
      board.append(el('p', {class: 'muted'}, `Step on to see ${shownMoves === s.rounds.length ? 'the disputed step' : 'the next round'}.`));
    }
  },
};

const chainChecks = {
  moves: () => 0,
  draw(board, d) {
    const s = d.shown;
    board.append(chainHeader(s));
    if (s.protocol.endsWith('consultancy')) {
      board.append(el('p', {class: 'claims'}, el('span', {class: 'claim side-c'},
        `The consultant claims ${x(s.T)} = ${s.claim} (the other candidate is ${s.other}) and holds a full trace.`)));
    } else {
      board.append(el('p', {class: 'claims'}, ...s.sides.map((side) =>
        el('span', {class: `claim ${sideClass(side.name)}`}, `${side.name}: ${x(s.T)} = ${side.claim}`))));
    }
    const table = el('table', {class: 'checks', id: 'checks'},
      el('tr', {}, el('th', {}, 'step'), el('th', {}, 'operation'),
        ...(s.claim !== undefined ? [el('th', {}, 'claimed input'), el('th', {}, 'claimed output'), el('th', {}, 'u·input + v')] : [])));
    const left = el('span', {id: 'checks-left'});
    const number = el('input', {id: 'check-step', type: 'number', min: 1, max: s.T, value: 1, size: 5});
    const error = el('span', {class: 'error', id: 'check-error', role: 'alert'});
    const running = el('p', {id: 'running', class: 'muted'});
    const done = [];
    const addRow = (c) => {
      done.push(c);
      const cells = [el('td', {}, c.t), el('td', {}, op(c.op, s.modulus))];
      if (c.input !== undefined) {
        const y = stepValue(c.op, c.input, s.modulus);
        cells.push(el('td', {}, c.input), el('td', {}, c.output),
          el('td', {class: y === c.output ? 'ok' : 'bad'}, `${y} ${y === c.output ? '✓' : '✗ (the claim is wrong here)'}`));
      }
      table.append(el('tr', {}, ...cells));
      if (c.input === undefined) {  // direct: the chain from x_0 as far as the checked steps reach.
        const byStep = Object.fromEntries(done.map((x) => [x.t, x.op]));
        let value = s.x0, t = 0;
        while (byStep[t + 1]) value = stepValue(byStep[++t], value, s.modulus);
        running.textContent = t ? `From ${x(0)} and the checked steps 1..${t}: ${x(t)} = ${value}.` : '';
      }
    };
    const setLeft = (n) => { left.textContent = `${n} of ${d.checks} check(s) left`; };
    board.append(el('p', {}, `You may check up to s = ${d.checks} step(s) of your choice, as the model judge may. `,
      'Step ', number, ' ', el('button', {type: 'button', id: 'check-button'}, 'Check step'), ' ', left, ' ', error));
    board.append(table, running);
    (d.checked || []).forEach(addRow);
    setLeft(d.checks - (d.checked || []).length);
    document.getElementById('check-button').addEventListener('click', async () => {
      error.textContent = '';
      const step = Number(number.value);
      if (done.some((c) => c.t === step)) { error.textContent = `step ${step} is checked already`; return; }
      if (done.length >= d.checks) { error.textContent = `no checks left (s = ${d.checks})`; return; }
      try {
        const c = await postJSON(`/api/check/${d.game}`, {step: Number.isInteger(step) ? step : number.value});
        addRow(c);
        setLeft(c.left);
      } catch (e) {
        error.textContent = e.message;
      }
    });
  },
};

const MOVER_COLOURS = {'Debater A': '#1f6fd1', 'Debater B': '#e07b00', 'Consultant': '#8a3fb8'};

function pixelGrid(height, width, pixelsAt, outlined) {
  const cell = Math.max(12, Math.floor(336 / Math.max(height, width)));
  const root = svg('svg', {width: width * cell + 2, height: height * cell + 2, class: 'pixels', role: 'img'});
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const value = pixelsAt(r, c);
      const fill = value === null ? '#c7ccd4' : `rgb(${255 - value},${255 - value},${255 - value})`;
      root.append(svg('rect', {x: 1 + c * cell, y: 1 + r * cell, width: cell, height: cell, fill, stroke: '#e3e6ea', 'stroke-width': 0.5}));
    }
  }
  outlined.forEach(({row, col, colour, label, current}) => {
    root.append(svg('rect', {x: 2 + col * cell, y: 2 + row * cell, width: cell - 2, height: cell - 2, fill: 'none',
      stroke: colour, 'stroke-width': current ? 4 : 2.5}));
    if (label) {
      const text = svg('text', {x: 1 + col * cell + cell / 2, y: 1 + row * cell + cell / 2 + 4, 'text-anchor': 'middle',
        'font-size': Math.min(12, cell - 4), fill: colour, 'font-weight': 'bold', stroke: 'white', 'stroke-width': 2.5,
        'paint-order': 'stroke'});
      text.textContent = label;
      root.append(text);
    }
  });
  return root;
}

const image = {
  moves: (d) => d.shown.moves.length,
  draw(board, d, shownMoves) {
    const s = d.shown;
    const claims = s.claims.length
      ? s.claims.map((c) => el('span', {class: `claim ${sideClass(c.name)}`}, `${c.name} claims class ${c.claim}`))
      : [el('span', {class: 'claim side-c'}, s.protocol === 'direct'
        ? `The judge sees ${s.moves.length} random nonzero pixels; no one argues.`
        : 'The debaters reveal pixels; no classes were claimed (no precommit).')];
    board.append(el('p', {class: 'claims'}, ...claims));
    const revealed = new Map(s.moves.slice(0, shownMoves).map((m) => [`${m.row},${m.col}`, m.value]));
    const outlined = s.moves.slice(0, shownMoves).map((m, i) => ({row: m.row, col: m.col,
      colour: MOVER_COLOURS[m.mover] || '#178a4c', label: String(i + 1), current: i === shownMoves - 1}));
    const grid = pixelGrid(s.height, s.width, (r, c) => (revealed.has(`${r},${c}`) ? revealed.get(`${r},${c}`) : null), outlined);
    const list = el('ol', {class: 'moves'}, ...s.moves.slice(0, shownMoves).map((m, i) =>
      el('li', {class: i === shownMoves - 1 ? 'current' : ''},
        el('span', {style: `color: ${MOVER_COLOURS[m.mover] || '#178a4c'}`}, m.mover || 'random'),
        ` reveals pixel (${m.row}, ${m.col}) = ${m.value}`)));
    board.append(el('div', {class: 'image-board'}, el('figure', {}, grid,
      el('figcaption', {class: 'muted'}, 'grey: hidden; revealed pixels in their ink (darker = brighter pixel)')), list));
  },
};

const FLAG_CLASSES = {'verified quote': 'flag-verified', 'unverified claim': 'flag-unverified', 'flag hidden': 'flag-hidden'};
const moverColour = (mover) => MOVER_COLOURS[mover] || '#178a4c';

function textMove(m, current) {
  return el('li', {class: current ? 'current' : ''},
    el('span', {class: 'mover', style: `color: ${moverColour(m.mover)}`}, m.mover || 'random sentence'),
    ' · sentence ', el('span', {class: 'position'}, `[${m.position}]`), ' ',
    el('span', {class: `flag ${FLAG_CLASSES[m.flag] || ''}`}, m.flag), ' ',
    el('q', {class: 'quote'}, m.quote));
}

const text = {
  moves: (d) => d.shown.moves.length,
  draw(board, d, shownMoves) {
    const s = d.shown;
    board.append(el('p', {class: 'question'}, 'Question: ', el('strong', {}, s.question)));
    const answers = s.answers.map((a) => {
      const side = s.sides ? s.sides.find((x) => x.argues === a.name) : null;
      const who = side ? `${side.name} argues ` : s.consultant === a.name ? 'The consultant argues ' : '';
      return el('span', {class: `claim ${sideClass(side ? side.name : `Answer ${a.name}`)}`}, `${who}${a.name}: ${a.text}`);
    });
    board.append(el('p', {class: 'claims'}, ...answers));
    const about = {
      blind: 'Blind: the model judge saw no quotes, only the question and the two answers.',
      direct: `Direct: the model judge saw ${s.moves.length} random sentences of the story (no one argues).`,
    }[s.protocol] || `The story (${s.num_sentences} sentences) stays hidden: judge from what is cited, as the model judge does.`;
    const flags = s.flags_hidden
      ? ' The flags were hidden from the model judge: you cannot tell verified quotes from unverified claims.'
      : s.protocol === 'blind' ? '' : ' A verified quote is a sentence of the story; an unverified claim may be made up.';
    board.append(el('p', {class: 'muted'}, about + flags));
    if (!s.moves.length) return;
    board.append(el('ol', {class: 'moves quotes'}, ...s.moves.slice(0, shownMoves).map((m, i) => textMove(m, i === shownMoves - 1))));
    if (shownMoves < s.moves.length) {
      board.append(el('p', {class: 'muted'}, `Step on to see the next ${s.protocol === 'direct' ? 'sentence' : 'move'}.`));
    }
  },
};

function textResult(t, d) {
  const moves = el('table', {class: 'checks', id: 'text-moves'},
    el('tr', {}, el('th', {}, 'move'), el('th', {}, 'by'), el('th', {}, 'sentence'), el('th', {}, 'the judge saw'),
      el('th', {}, 'in fact'), el('th', {}, 'model P(true) after')));
  t.moves.forEach((m, i) => {
    const shown = d.shown.moves[i];
    moves.append(el('tr', {},
      el('td', {}, m.move), el('td', {style: `color: ${moverColour(m.mover)}`}, m.mover || 'random'),
      el('td', {}, `[${m.position}]`), el('td', {}, shown.flag),
      el('td', {class: m.fabricated ? 'bad' : 'ok'}, m.fabricated ? 'fabricated claim' : 'true quote'),
      el('td', {}, m.prob_true === null ? '–' : m.prob_true.toFixed(3))));
  });
  const quotedBy = {};
  t.moves.forEach((m) => { if (!m.fabricated) (quotedBy[m.position] = quotedBy[m.position] || []).push(m); });
  const story = el('ol', {class: 'story', start: 0}, ...t.story.map((sentence, i) => {
    const by = quotedBy[i] || [];
    const fakes = t.moves.filter((m) => m.fabricated && m.position === i);
    return el('li', {class: by.length ? 'quoted' : ''}, sentence || '—',
      ...by.map((m) => el('span', {class: 'tag', style: `border-color: ${moverColour(m.mover)}; color: ${moverColour(m.mover)}`},
        `quoted by ${m.mover || 'chance'} (move ${m.move})`)),
      ...fakes.map((m) => el('span', {class: 'tag fake'}, `${m.mover || 'chance'} claimed “${d.shown.moves[t.moves.indexOf(m)].quote}” here (move ${m.move}, made up)`)));
  }));
  const parts = [el('p', {}, `The model judge's final P(true) = ${t.prob_true.toFixed(3)} (its probability of the true answer, ${t.true_answer}).`)];
  if (t.moves.length) parts.push(moves);
  parts.push(el('h3', {}, 'The whole story'), story);
  return el('div', {id: 'text-reveal'}, ...parts);
}

const RENDERERS = {chain_debate: chainDebate, chain_checks: chainChecks, image, text};

// ---------------------------------------------------------------------------------------------------------
// The game page.

const dataNode = document.getElementById('game-data');
if (dataNode) {
  const d = JSON.parse(dataNode.textContent);
  const renderer = RENDERERS[d.kind];
  const board = document.getElementById('board');
  const total = renderer.moves(d);
  let position = total ? 0 : 0;
  const started = performance.now();

  const show = (next) => {
    position = Math.max(0, Math.min(total, next));
    board.replaceChildren();
    renderer.draw(board, d, position);
    document.getElementById('step-label').textContent = `move ${position} of ${total}`;
    document.getElementById('step-prev').disabled = position === 0;
    document.getElementById('step-first').disabled = position === 0;
    document.getElementById('step-next').disabled = position === total;
    document.getElementById('step-last').disabled = position === total;
  };
  if (total) {
    document.getElementById('stepper').hidden = false;
    document.getElementById('step-first').addEventListener('click', () => show(0));
    document.getElementById('step-prev').addEventListener('click', () => show(position - 1));
    document.getElementById('step-next').addEventListener('click', () => show(position + 1));
    document.getElementById('step-last').addEventListener('click', () => show(total));
    document.addEventListener('keydown', (event) => {
      if (['INPUT', 'TEXTAREA'].includes(document.activeElement.tagName)) return;
      const moves = {ArrowRight: position + 1, ArrowLeft: position - 1, Home: 0, End: total};
      if (event.key in moves) { event.preventDefault(); show(moves[event.key]); }
    });
  }
  show(0);

  const form = document.getElementById('verdict-form');
  if (form) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const error = document.getElementById('verdict-error');
      error.textContent = '';
      const choice = form.querySelector('input[name=verdict]:checked');
      if (!choice) { error.textContent = 'pick a verdict first'; return; }
      try {
        const answer = await postJSON(`/api/verdict/${d.game}`, {
          verdict: Number(choice.value),
          confidence: document.getElementById('confidence').value,
          comment: document.getElementById('comment').value,
          seconds: (performance.now() - started) / 1000,
        });
        form.querySelectorAll('input, textarea, button').forEach((node) => { node.disabled = true; });
        showResult(answer, d);
      } catch (e) {
        error.textContent = e.message;
      }
    });
  }
}

function showResult(a, d) {
  const result = document.getElementById('result');
  const mark = (ok) => el('strong', {class: ok ? 'ok' : 'bad'}, ok ? 'correct ✓' : 'wrong ✗');
  result.append(
    el('h2', {}, 'Saved'),
    el('p', {id: 'your-verdict'}, `Your verdict: ${a.verdict_label} — `, mark(a.correct)),
    el('p', {id: 'truth'}, `The right verdict: ${a.truth_label}. ${a.summary}`),
    el('p', {id: 'model-verdict'}, `The model judge (${a.model_judge}) said: ${a.model_verdict_label} — `, mark(a.model_correct)));
  if (a.image) {
    const moves = d.shown.moves.map((m, i) => ({row: m.row, col: m.col, colour: MOVER_COLOURS[m.mover] || '#178a4c', label: String(i + 1)}));
    result.append(el('figure', {id: 'full-image'}, pixelGrid(a.image.length, a.image[0].length, (r, c) => a.image[r][c], moves),
      el('figcaption', {class: 'muted'}, `the whole image (class ${a.label}); outlined: the revealed pixels`)));
  }
  if (a.text) result.append(textResult(a.text, d));
  result.append(el('details', {open: ''}, el('summary', {}, 'The full transcript'), el('pre', {id: 'transcript'}, a.transcript)));
  result.hidden = false;
  result.scrollIntoView({behavior: 'instant', block: 'start'});
}
