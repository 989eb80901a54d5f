// The rtpmix bridge's page: join a room over WebRTC and watch it.
// Plain JS, no build step. Everything goes through the bridge's API with
// the token typed in (Authorization: Bearer), like any other API client.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    form: $('join-form'), token: $('token'), room: $('room'), roomList: $('room-list'),
    refresh: $('refresh'), name: $('name'), processing: $('processing'),
    join: $('join'), mute: $('mute'), leave: $('leave'),
    status: $('status'), error: $('error'), remote: $('remote'),
    peopleRoom: $('people-room'), peopleEmpty: $('people-empty'), people: $('people'), peopleBody: $('people-body'),
  };

  // What the page is doing. location is the participant's URL from the
  // join's 201 (DELETE it to leave).
  const st = {
    pc: null, local: null, remote: null, location: '', id: '', room: '', muted: false,
    watching: '', watchAbort: null, rows: new Map(),
  };
  // For tests and the curious: the connection and the streams.
  window.rtpmix = {
    get pc() { return st.pc; },
    get localStream() { return st.local; },
    get remoteStream() { return st.remote; },
    get participant() { return st.id; },
    get room() { return st.room; },
  };

  const tokenKey = 'rtpmix-bridge-token';
  el.token.value = sessionStorage.getItem(tokenKey) || '';
  el.token.addEventListener('change', () => {
    sessionStorage.setItem(tokenKey, el.token.value.trim());
    refreshRooms();
    if (st.watching) watch(st.watching, true);
  });

  function headers(extra) {
    const h = Object.assign({}, extra);
    const t = el.token.value.trim();
    if (t) h.Authorization = 'Bearer ' + t;
    return h;
  }

  // api calls the bridge and throws an Error with the bridge's reason on
  // a status outside 2xx.
  async function api(method, path, body, type) {
    const init = { method, headers: headers(type ? { 'Content-Type': type } : {}), cache: 'no-store' };
    if (body !== undefined) init.body = body;
    const resp = await fetch(path, init);
    if (!resp.ok) {
      let reason = resp.statusText;
      try { reason = (await resp.json()).error || reason; } catch (_) { /* not JSON */ }
      const err = new Error(resp.status === 401 ? 'The bridge needs its API token: ' + reason : reason);
      err.status = resp.status;
      throw err;
    }
    return resp;
  }

  const roomPath = (room) => '/rooms/' + encodeURIComponent(room);

  function say(msg) { el.status.textContent = msg; }
  function fail(msg) { el.error.textContent = msg; }

  async function refreshRooms() {
    try {
      const rooms = await (await api('GET', '/rooms')).json();
      el.roomList.replaceChildren(...rooms.map((r) => {
        const o = document.createElement('option');
        o.value = r.name;
        o.label = r.name + ' (' + r.participants + ' in it)';
        return o;
      }));
      fail('');
    } catch (e) {
      fail(e.message);
    }
  }

  // ensureRoom creates the room unless it exists.
  async function ensureRoom(room) {
    try {
      await api('GET', roomPath(room));
    } catch (e) {
      if (e.status !== 404) throw e;
      try {
        await api('POST', '/rooms', JSON.stringify({ name: room }), 'application/json');
      } catch (e2) {
        if (e2.status !== 409) throw e2; // someone else just made it
      }
    }
  }

  // waitGathered waits (at most 2 s) for the browser's ICE candidates.
  // The bridge is ICE-lite and needs none of them, but an offer with its
  // candidates is what other WHIP servers expect too.
  function waitGathered(pc) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); } };
      const t = setTimeout(resolve, 2000);
      pc.addEventListener('icegatheringstatechange', done);
    });
  }

  async function join() {
    fail('');
    const room = el.room.value.trim();
    if (!room) {
      fail('Type or pick a room.');
      el.room.focus();
      return;
    }
    setBusy(true);
    try {
      await ensureRoom(room);
      watch(room);
      say('Asking for the microphone…');
      const processing = el.processing.checked;
      st.local = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing },
        video: false,
      });
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
      st.pc = pc;
      const track = st.local.getAudioTracks()[0];
      // One sendrecv audio transceiver: a conference both sends and
      // receives. Chromium offers Opus with in-band FEC and RFC 6464
      // levels by default, which the bridge takes.
      pc.addTransceiver(track, { direction: 'sendrecv', streams: [st.local] });
      pc.addEventListener('track', (e) => {
        st.remote = e.streams[0] || new MediaStream([e.track]);
        el.remote.srcObject = st.remote;
        el.remote.play().catch(() => say('Press Leave and Join again to allow sound.'));
      });
      pc.addEventListener('connectionstatechange', () => connectionChanged(pc));
      await pc.setLocalDescription(await pc.createOffer());
      await waitGathered(pc);
      say('Joining ' + room + '…');
      let path = roomPath(room) + '/participants';
      const name = el.name.value.trim();
      if (name) path += '?id=' + encodeURIComponent(name);
      const resp = await api('POST', path, pc.localDescription.sdp, 'application/sdp');
      st.location = resp.headers.get('Location') || '';
      st.id = decodeURIComponent(st.location.split('/').pop() || '');
      st.room = room;
      await pc.setRemoteDescription({ type: 'answer', sdp: await resp.text() });
      say('Connecting to ' + room + ' as ' + st.id + '…');
      el.mute.disabled = false;
      el.leave.disabled = false;
      el.mute.focus();
      markSelf();
    } catch (e) {
      fail('Could not join: ' + (e.message || e.name || e));
      await hangUp(true);
      setBusy(false);
    }
  }

  function connectionChanged(pc) {
    if (pc !== st.pc) return;
    switch (pc.connectionState) {
      case 'connected':
        say('In ' + st.room + ' as ' + st.id + (st.muted ? ', muted.' : '.'));
        break;
      case 'disconnected':
        say('Connection interrupted, trying to recover…');
        break;
      case 'failed':
      case 'closed':
        fail('The connection to the bridge was lost.');
        hangUp(false);
        break;
    }
  }

  async function toggleMute() {
    const m = !st.muted;
    // Locally (the browser sends silence, which its RFC 6464 levels say:
    // the bridge decodes none of it) and on the bridge (the room's list
    // shows it muted).
    st.local?.getAudioTracks().forEach((t) => { t.enabled = !m; });
    st.muted = m;
    el.mute.setAttribute('aria-pressed', String(m));
    el.mute.textContent = m ? 'Unmute' : 'Mute';
    say((m ? 'Muted' : 'Unmuted') + ' in ' + st.room + '.');
    if (st.location) {
      try {
        await api('PATCH', st.location, JSON.stringify({ muted: m }), 'application/json');
      } catch (e) {
        fail('Mute on the bridge: ' + e.message);
      }
    }
  }

  // hangUp leaves the room: DELETE when asked to and joined, then closes
  // the connection and releases the microphone.
  async function hangUp(remove) {
    const loc = st.location;
    st.location = '';
    if (remove && loc) {
      try { await api('DELETE', loc); } catch (e) { if (e.status !== 404) fail('Leave: ' + e.message); }
    }
    if (st.pc) { const pc = st.pc; st.pc = null; pc.close(); }
    st.local?.getTracks().forEach((t) => t.stop());
    st.local = null;
    st.remote = null;
    el.remote.srcObject = null;
    st.id = '';
    st.muted = false;
    el.mute.setAttribute('aria-pressed', 'false');
    el.mute.textContent = 'Mute';
    el.mute.disabled = true;
    el.leave.disabled = true;
    setBusy(false);
    say('Not in a room.');
    markSelf();
  }

  function setBusy(inCall) {
    el.join.disabled = inCall;
    el.room.disabled = inCall;
    el.name.disabled = inCall;
  }

  // watch follows a room's event stream (with levels) until another room
  // is watched. fetch, not EventSource, so that the token goes in the
  // Authorization header like on every other call.
  async function watch(room, again) {
    if (st.watching === room && !again) return;
    st.watchAbort?.abort();
    const ac = new AbortController();
    st.watchAbort = ac;
    st.watching = room;
    st.rows.clear();
    el.peopleBody.replaceChildren();
    el.peopleRoom.textContent = 'in ' + room;
    el.people.hidden = false;
    el.peopleEmpty.hidden = true;
    while (!ac.signal.aborted) {
      try {
        const resp = await fetch(roomPath(room) + '/events?levels=1', { headers: headers(), signal: ac.signal, cache: 'no-store' });
        if (resp.status === 404 || resp.status === 401) {
          el.peopleEmpty.textContent = resp.status === 404 ? 'No room called ' + room + ' yet.' : 'The bridge needs its API token.';
          el.peopleEmpty.hidden = false;
          el.people.hidden = true;
          return;
        }
        if (!resp.ok) throw new Error(resp.statusText);
        await readEvents(resp.body, ac.signal);
      } catch (e) {
        if (ac.signal.aborted) return;
      }
      // The stream ended (the room closed, or the network): retry.
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  async function readEvents(body, signal) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    signal.addEventListener('abort', () => reader.cancel().catch(() => {}));
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let name = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) name = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data) onEvent(name, JSON.parse(data));
      }
    }
  }

  function onEvent(name, d) {
    switch (name) {
      case 'levels':
        render(d.participants);
        break;
      case 'joined':
        if (d.participant !== st.id) say(d.participant + ' joined ' + d.room + '.');
        break;
      case 'left':
        if (d.participant !== st.id) say(d.participant + ' left ' + d.room + '.');
        else if (st.location) { fail('The bridge removed you from the room (' + (d.detail || 'left') + ').'); hangUp(false); }
        break;
    }
  }

  function cell(row, cls) {
    const td = document.createElement('td');
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  // render updates the table in place (rows keyed by participant ID), so
  // that focus and screen readers are not thrown about four times a second.
  function render(list) {
    const seen = new Set();
    for (const p of list) {
      seen.add(p.id);
      let r = st.rows.get(p.id);
      if (!r) {
        const tr = document.createElement('tr');
        tr.dataset.id = p.id;
        const th = document.createElement('th');
        th.scope = 'row';
        th.textContent = p.id;
        tr.appendChild(th);
        r = { tr, conn: cell(tr), talk: cell(tr), level: cell(tr), loss: cell(tr, 'num'), jitter: cell(tr, 'num') };
        const talk = document.createElement('span');
        talk.className = 'talk';
        r.talk.appendChild(talk);
        r.talkSpan = talk;
        r.meter = document.createElement('meter');
        r.meter.min = 0; r.meter.max = 90; r.meter.low = 30; r.meter.optimum = 60;
        r.levelText = document.createElement('span');
        r.levelText.className = 'visually-hidden';
        r.level.append(r.meter, r.levelText);
        st.rows.set(p.id, r);
        insertSorted(tr);
      }
      r.tr.classList.toggle('self', p.id === st.id && st.room === st.watching);
      r.conn.textContent = p.transport === 'webrtc' ? 'browser' : 'RTP ' + p.codec;
      if (!p.connected) r.conn.textContent += ' (connecting)';
      const talking = p.talking && !p.muted;
      r.talkSpan.dataset.talking = String(talking);
      r.talkSpan.textContent = p.muted ? 'muted' : talking ? 'talking' : 'quiet';
      // level is -dBov (0 loudest, 127 silence): the meter shows 90 dB
      // of range above -90 dBov.
      const v = Math.max(0, 90 - p.level);
      r.meter.value = v;
      r.meter.setAttribute('aria-label', p.id + ' level');
      r.levelText.textContent = p.level >= 127 ? 'silent' : '-' + p.level + ' dBov';
      r.meter.title = r.levelText.textContent;
      r.loss.textContent = pct(p.loss_pct) + ' / ' + pct(p.remote_loss_pct);
      r.loss.title = p.loss + ' packets lost on the way to the bridge';
      r.jitter.textContent = p.jitter_ms.toFixed(1) + ' ms';
    }
    for (const [id, r] of st.rows) {
      if (!seen.has(id)) { r.tr.remove(); st.rows.delete(id); }
    }
  }

  function insertSorted(tr) {
    for (const other of el.peopleBody.children) {
      if (other.dataset.id > tr.dataset.id) { el.peopleBody.insertBefore(tr, other); return; }
    }
    el.peopleBody.appendChild(tr);
  }

  function markSelf() {
    for (const [id, r] of st.rows) r.tr.classList.toggle('self', id === st.id && st.room === st.watching);
  }

  const pct = (x) => (x || 0).toFixed(1) + ' %';

  el.form.addEventListener('submit', (e) => { e.preventDefault(); join(); });
  el.mute.addEventListener('click', toggleMute);
  el.leave.addEventListener('click', () => { hangUp(true).then(() => el.join.focus()); });
  el.refresh.addEventListener('click', refreshRooms);
  el.room.addEventListener('change', () => { const r = el.room.value.trim(); if (r && !st.location) watch(r); });
  // Leaving the page leaves the room (keepalive lets the DELETE outlive
  // the page); a browser that cannot send it is removed when ICE fails.
  window.addEventListener('pagehide', () => {
    if (st.location) fetch(st.location, { method: 'DELETE', headers: headers(), keepalive: true });
  });
  refreshRooms();
})();
