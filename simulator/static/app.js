/* Pintu chat simulator page: one Telegram-like chat pane per persona.
 *
 * Selector contract (stable; browser tests may rely on these):
 *   section.pane[data-user-id=U][data-chat-id=C]   one chat; .offline class while the server is unreachable
 *     .pane-title                                   persona title;  .pane-status  text "offline" when offline
 *     .messages                                     the message list (role=log)
 *       .message.bot | .message.user [data-message-id=N]  one message (.edited once edited)
 *         .msg-text                                 text/caption; entities (b,i,u,s,code,pre,a,blockquote) as DOM
 *         .msg-photo (img) .msg-document (a) .msg-location (a to OpenStreetMap) .msg-contact
 *         .edited-mark ("diedit")  time.msg-time ("HH.mm")
 *         .inline-keyboard > .kb-row > button.kb-btn[data-callback-data | data-url]
 *                                                   (.pending while waiting for the bot's answer)
 *     button.start-button  "Mulai / Start" in every empty chat, like Telegram's START; sends "/start PAYLOAD"
 *                          (persona's start, data-start=PAYLOAD) or "/start" when it has none
 *     .reply-keyboard > .kb-row > button.kb-btn [data-request=location|contact]   (hidden when none)
 *     .loc-sharer: input.loc-lat, input.loc-lon, input.loc-acc, button.loc-send "Kirim lokasi", button.loc-cancel
 *     form.input-bar: input.msg-input[aria-label=Pesan], button.send "Kirim",
 *                     button.attach (aria-label "Kirim foto") + input.file-input, button.attach-doc (aria-label
 *                     "Kirim berkas") + input.doc-input, button.loc (aria-label "Bagikan lokasi")
 *     .toast (role=status) callback answers/errors;  .alert-box (role=alertdialog) show_alert answers, button.alert-ok
 *   document.body[data-ready]                       set once the panes are built.
 * The pane is also role=region named by its title. Accessible names overlap ("Kirim" ⊂ "Kirim foto" ⊂ …, and the
 * 📍 button is "Bagikan lokasi"): scope by class (.inline-keyboard / .reply-keyboard / .send) or match exactly.
 * Example (Playwright):
 *   res = page.locator('.pane[data-user-id="1001"]')
 *   res.locator('.start-button').click()
 *   res.locator('.inline-keyboard button', has_text='Senin').click()
 *   res.get_by_label('Pesan', exact=True).fill('halo'); res.locator('.send').click()   # or press Enter
 *   page.locator('.pane[data-user-id="1003"] .message.bot .msg-text', has_text='Kunjungan baru').wait_for()
 * Messages re-render as a whole on every edit (same data-message-id), so re-query rather than keep handles.
 *
 * URL parameters: ?bot=ID&user=ID&title=...&start=PAYLOAD shows a single chat for that user.
 */
(function () {
  'use strict';

  var DEMO_LAT = -0.4948, DEMO_LON = 117.1436, DEMO_ACC = 15, DEMO_PHONE = '+6281234567890';

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }
  function button(parent, cls, text, title, fn, label) {
    var b = parent.appendChild(el('button', cls, text));
    b.type = 'button';
    if (title) b.title = title;
    if (label) b.setAttribute('aria-label', label);
    if (fn) b.onclick = fn;
    return b;
  }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function pad(n) { return (n < 10 ? '0' : '') + n; }

  function ApiError(msg, status) { this.message = msg; this.status = status; }

  async function api(method, path, body, signal) {
    var opt = { method: method, signal: signal, headers: {} };
    if (body instanceof FormData) opt.body = body;
    else if (body !== undefined) { opt.body = JSON.stringify(body); opt.headers['Content-Type'] = 'application/json'; }
    var res;
    try { res = await fetch(path, opt); } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError('server tidak terjangkau', 0);
    }
    var data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok || !data || !data.ok) throw new ApiError((data && data.description) || ('HTTP ' + res.status), res.status);
    return data.result;
  }

  /* ---------- safe text rendering ---------- */

  function safeUrl(u) {
    u = (u || '').trim();
    if (/^(https?:|tg:|mailto:)/i.test(u)) return u;
    if (/^[\w.-]+\.[a-z]{2,}(\/|$)/i.test(u)) return 'http://' + u;
    return null;
  }
  function link(href, cls) {
    var a = el('a', cls);
    var u = safeUrl(href);
    if (u) { a.href = u; a.target = '_blank'; a.rel = 'noopener noreferrer'; }
    return a;
  }

  // Bot API text + entities (offsets in UTF-16 units, like JS strings) -> DOM.
  var ETAG = { bold: 'b', italic: 'i', underline: 'u', strikethrough: 's', code: 'code', pre: 'pre',
    blockquote: 'blockquote', expandable_blockquote: 'blockquote', spoiler: 'span', text_link: 'a', url: 'a' };
  function renderEntities(text, ents, root) {
    var list = ents.filter(function (e) { return ETAG[e.type]; })
      .sort(function (a, b) { return a.offset - b.offset || b.length - a.length; });
    (function rec(par, from, to, items) {
      var pos = from, i = 0;
      while (i < items.length) {
        var e = items[i++];
        if (e.offset < pos) continue;
        if (e.offset > pos) par.appendChild(document.createTextNode(text.slice(pos, e.offset)));
        var end = Math.min(e.offset + e.length, to), inner = [];
        while (i < items.length && items[i].offset < end) inner.push(items[i++]);
        var tag = ETAG[e.type], node;
        if (tag === 'a') node = link(e.type === 'url' ? text.slice(e.offset, end) : e.url);
        else { node = el(tag); if (e.type === 'spoiler') node.className = 'spoiler'; }
        par.appendChild(node);
        rec(node, e.offset, end, inner);
        pos = end;
      }
      if (pos < to) par.appendChild(document.createTextNode(text.slice(pos, to)));
    })(root, 0, text.length, list);
  }

  // The server parses parse_mode HTML (b, i, u, s, code, pre, a href, blockquote, spoiler) into entities and
  // refuses other tags; the page only ever builds DOM nodes from text + entities, never parses markup.
  function renderText(text, ents, root) {
    if (ents && ents.length) renderEntities(text, ents, root);
    else root.textContent = text;
  }

  // Times in the persona's zone (the area's: WIB, WITA or WIT), not the browser's, so that they agree
  // with the times the bot writes; the browser's own zone when the persona names none.
  function hhmm(sec, zone) {
    var d = new Date(sec * 1000);
    if (!zone) return pad(d.getHours()) + '.' + pad(d.getMinutes());
    var parts = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: zone })
      .formatToParts(d);
    var get = function (type) { return (parts.filter(function (p) { return p.type === type; })[0] || {}).value; };
    return get('hour') + '.' + get('minute');
  }

  /* ---------- a chat pane ---------- */

  function Pane(bot, persona) {
    this.bot = bot;
    this.user = String(persona.user_id);
    this.chat = String(persona.chat_id || persona.user_id);
    this.title = persona.title || ('Pengguna ' + this.user);
    this.start = persona.start || '';
    this.zone = persona.zone || null;  // IANA zone for message times
    this.home = [persona.latitude != null ? persona.latitude : DEMO_LAT,
                 persona.longitude != null ? persona.longitude : DEMO_LON];  // default shared location
    this.rev = 0;
    this.msgs = {};           // message_id -> {data, node}
    this.kbFrom = 0;          // message_id of the message that set the reply keyboard
    this.kb = null;
    this.loaded = false;
    this.wakeUp = null;
    this.base = '/sim/' + encodeURIComponent(bot) + '/users/' + encodeURIComponent(this.user);
    this.build();
  }

  Pane.prototype.build = function () {
    var self = this, p = this.node = el('section', 'pane');
    p.dataset.userId = this.user;
    p.dataset.chatId = this.chat;
    p.setAttribute('aria-label', this.title);

    var head = el('header', 'pane-head');
    head.appendChild(el('span', 'avatar', (this.title.trim()[0] || '?').toUpperCase())).setAttribute('aria-hidden', 'true');
    var names = el('div', 'pane-names');
    names.appendChild(el('h2', 'pane-title', this.title));
    this.status = names.appendChild(el('span', 'pane-status', 'menghubungkan…'));
    head.appendChild(names);
    p.appendChild(head);

    this.list = p.appendChild(el('div', 'messages'));
    this.list.setAttribute('role', 'log');
    this.list.setAttribute('aria-label', 'Pesan ' + this.title);

    this.startWrap = p.appendChild(el('div', 'start-wrap'));
    this.startWrap.hidden = true;
    var cmd = this.start ? '/start ' + this.start : '/start';
    button(this.startWrap, 'start-button', 'Mulai / Start', 'Sends ' + cmd, function () { self.sendText(cmd); })
      .dataset.start = this.start;

    this.replyKb = p.appendChild(el('div', 'reply-keyboard'));
    this.replyKb.hidden = true;

    // location sharer
    var ls = this.locBox = p.appendChild(el('div', 'loc-sharer'));
    ls.hidden = true;
    ls.setAttribute('role', 'group');
    ls.setAttribute('aria-label', 'Bagikan lokasi');
    function field(label, cls, val, title) {
      var l = el('label', null, label), i = el('input', cls);
      i.type = 'number'; i.step = 'any'; i.value = val; l.title = title;
      i.onkeydown = function (ev) { if (ev.key === 'Enter') self.sendLocation(); };
      l.appendChild(i); ls.appendChild(l); return i;
    }
    this.latIn = field('Lintang', 'loc-lat', this.home[0], 'Latitude');
    this.lonIn = field('Bujur', 'loc-lon', this.home[1], 'Longitude');
    this.accIn = field('Akurasi (m)', 'loc-acc', DEMO_ACC, 'Accuracy in metres');
    button(ls, 'loc-send', 'Kirim lokasi', 'Send location', function () { self.sendLocation(); });
    button(ls, 'loc-cancel', 'Batal', 'Cancel', function () { ls.hidden = true; });

    // input bar
    var f = el('form', 'input-bar');
    f.setAttribute('autocomplete', 'off');
    button(f, 'attach icon', '📎', 'Send photo', function () { file.click(); }, 'Kirim foto');
    var file = f.appendChild(el('input', 'file-input'));
    file.type = 'file'; file.accept = 'image/*'; file.hidden = true; file.tabIndex = -1;
    file.onchange = function () { if (file.files[0]) self.sendPhoto(file.files[0]); file.value = ''; };
    button(f, 'attach-doc icon', '📄', 'Send a file (document)', function () { doc.click(); }, 'Kirim berkas');
    var doc = f.appendChild(el('input', 'doc-input'));
    doc.type = 'file'; doc.hidden = true; doc.tabIndex = -1;
    doc.onchange = function () { if (doc.files[0]) self.sendDocument(doc.files[0]); doc.value = ''; };
    var inp = this.input = f.appendChild(el('input', 'msg-input'));
    inp.type = 'text'; inp.placeholder = 'Ketik pesan…'; inp.title = 'Type a message';
    inp.setAttribute('aria-label', 'Pesan'); inp.setAttribute('enterkeyhint', 'send');
    button(f, 'loc icon', '📍', 'Share location', function () { self.toggleLoc(); }, 'Bagikan lokasi');
    var send = f.appendChild(el('button', 'send', 'Kirim'));
    send.type = 'submit'; send.title = 'Send';
    f.onsubmit = function (ev) {
      ev.preventDefault();
      var t = inp.value;
      if (!t.trim()) return;
      inp.value = '';
      self.sendText(t).then(function (ok) { if (!ok && !inp.value) inp.value = t; });
    };
    p.appendChild(f);

    this.toastEl = p.appendChild(el('div', 'toast'));
    this.toastEl.setAttribute('role', 'status');
    this.toastEl.hidden = true;
  };

  Pane.prototype.toggleLoc = function () {
    this.locBox.hidden = !this.locBox.hidden;
    if (!this.locBox.hidden) this.latIn.focus();
  };

  Pane.prototype.toast = function (text, isError) {
    var t = this.toastEl;
    t.textContent = text;
    t.classList.toggle('error', !!isError);
    t.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(function () { t.hidden = true; }, Math.max(2500, 60 * text.length));
  };

  Pane.prototype.alert = function (text) {
    var self = this, back = el('div', 'alert-back'), box = back.appendChild(el('div', 'alert-box'));
    box.setAttribute('role', 'alertdialog');
    box.setAttribute('aria-modal', 'true');
    box.appendChild(el('p', 'alert-text', text));
    var ok = button(box, 'alert-ok', 'OK', '', function () { back.remove(); self.input.focus(); });
    this.node.appendChild(back);
    ok.focus();
  };

  // ---- user actions ----

  Pane.prototype.act = async function (path, body) {
    try {
      var r = await api('POST', this.base + path, body);
      this.wake();
      return r || true;
    } catch (e) {
      this.toast('Gagal: ' + e.message, true);
      return false;
    }
  };
  Pane.prototype.sendText = function (t) { return this.act('/messages', { text: t }); };
  Pane.prototype.sendLocation = async function () {
    var lat = parseFloat(this.latIn.value), lon = parseFloat(this.lonIn.value), acc = parseFloat(this.accIn.value);
    if (!(Math.abs(lat) <= 90 && Math.abs(lon) <= 180)) { this.toast('Koordinat tidak valid', true); return; }
    var body = { latitude: lat, longitude: lon };
    if (acc > 0) body.horizontal_accuracy = Math.min(acc, 1500);
    if (await this.act('/location', body)) { this.locBox.hidden = true; this.usedKb(); }
  };
  Pane.prototype.sendContact = async function () {
    if (await this.act('/contact', { phone_number: DEMO_PHONE, first_name: this.title })) this.usedKb();
  };
  Pane.prototype.sendPhoto = function (file) {
    var fd = new FormData();
    fd.append('file', file, file.name || 'foto.jpg');
    if (this.input.value.trim()) { fd.append('caption', this.input.value); this.input.value = ''; }
    return this.act('/photo', fd);
  };
  Pane.prototype.sendDocument = function (file) {
    var fd = new FormData();
    fd.append('file', file, file.name || 'berkas');
    if (this.input.value.trim()) { fd.append('caption', this.input.value); this.input.value = ''; }
    return this.act('/document', fd);
  };
  Pane.prototype.press = async function (btn, msgId, data) {
    if (btn.classList.contains('pending')) return;
    btn.classList.add('pending');
    btn.setAttribute('aria-busy', 'true');
    var self = this, r = await this.act('/callback', { message_id: msgId, data: data });
    var done = function () { btn.classList.remove('pending'); btn.removeAttribute('aria-busy'); };
    if (!r || !r.callback_query_id) { done(); return; }
    var path = '/sim/' + encodeURIComponent(this.bot) + '/callbacks/' + encodeURIComponent(r.callback_query_id);
    var waits = [100, 200, 300, 400, 600, 800, 1000, 1500, 2000];
    for (var i = 0; i < waits.length; i++) {
      await sleep(waits[i]);
      try {
        var a = await api('GET', path);
        if (a && a.answered) {
          done();
          if (a.text) { if (a.show_alert) self.alert(a.text); else self.toast(a.text); }
          return;
        }
      } catch (e) { if (e.status === 0) break; }
    }
    done();
  };
  Pane.prototype.usedKb = function () {
    if (this.kb && this.kb.one_time_keyboard) { this.kbUsed = true; this.renderReplyKb(); }
  };

  // ---- rendering ----

  Pane.prototype.renderMessage = function (m) {
    var self = this, id = m.message_id, row = el('div', 'message ' + (m.from_bot ? 'bot' : 'user'));
    row.dataset.messageId = id;
    if (m.edited) row.classList.add('edited');
    var bub = row.appendChild(el('div', 'bubble'));

    var q = m.reply_to_message_id && this.msgs[m.reply_to_message_id];
    if (q) {
      var qt = q.data.text || (q.data.photo_url ? '🖼 foto' : q.data.location ? '📍 lokasi' : '…');
      bub.appendChild(el('div', 'msg-reply', qt.length > 70 ? qt.slice(0, 70) + '…' : qt)).dataset.replyTo = m.reply_to_message_id;
    }
    var photo = m.photo_url;
    if (!photo && m.photo && m.photo.length) photo = this.fileUrl(m.photo[m.photo.length - 1].file_id);
    if (photo) {
      var img = bub.appendChild(el('img', 'msg-photo'));
      img.src = photo; img.alt = m.text || m.caption || 'foto'; img.loading = 'lazy';
      img.onload = function () { self.stickBottom(); };
    }
    if (m.document) {
      var d = m.document, a = bub.appendChild(el('a', 'msg-document', '📄 ' + (d.file_name || 'dokumen')));
      a.href = d.url || this.fileUrl(d.file_id);
      a.download = d.file_name || '';
      a.title = 'Unduh (download)';
    }
    if (m.location) {
      var la = +m.location.latitude, lo = +m.location.longitude;
      var ll = bub.appendChild(link('https://www.openstreetmap.org/?mlat=' + la + '&mlon=' + lo + '#map=17/' + la + '/' + lo, 'msg-location'));
      ll.textContent = '📍 ' + la.toFixed(5) + ', ' + lo.toFixed(5);
      ll.title = 'Buka di OpenStreetMap';
      if (m.location.horizontal_accuracy) bub.appendChild(el('span', 'msg-accuracy', '±' + Math.round(m.location.horizontal_accuracy) + ' m'));
    }
    if (m.contact) {
      var c = m.contact;
      bub.appendChild(el('div', 'msg-contact', '👤 ' + [c.first_name, c.last_name].filter(Boolean).join(' ') + ' · ' + c.phone_number));
    }
    var text = m.text != null ? m.text : m.caption;
    if (text) renderText(String(text), m.text != null ? m.entities : (m.caption_entities || m.entities), bub.appendChild(el('div', 'msg-text')));

    var meta = bub.appendChild(el('span', 'meta'));
    if (m.edited) { var ed = meta.appendChild(el('span', 'edited-mark', 'diedit')); ed.title = 'edited'; }
    if (m.date) {
      var tm = meta.appendChild(el('time', 'msg-time', hhmm(m.date, this.zone)));
      tm.dateTime = new Date(m.date * 1000).toISOString();
      tm.title = new Date(m.date * 1000).toLocaleString('id-ID', this.zone ? { timeZone: this.zone, timeZoneName: 'short' } : {});
    }

    var rm = m.reply_markup;
    if (rm && rm.inline_keyboard && rm.inline_keyboard.length) {
      var kb = row.appendChild(el('div', 'inline-keyboard'));
      rm.inline_keyboard.forEach(function (r) {
        var kr = kb.appendChild(el('div', 'kb-row'));
        r.forEach(function (b) {
          var btn = button(kr, 'kb-btn', b.text);
          if (b.callback_data != null) {
            btn.dataset.callbackData = b.callback_data;
            btn.onclick = function () { self.press(btn, id, b.callback_data); };
          } else if (b.url) {
            var u = safeUrl(b.url);
            btn.dataset.url = b.url;
            btn.classList.add('url');
            btn.title = b.url;
            btn.onclick = function () { if (u) window.open(u, '_blank', 'noopener'); };
          } else {
            btn.disabled = true;
            btn.title = 'Tidak didukung di simulator (not supported)';
          }
        });
      });
    }
    return row;
  };

  Pane.prototype.fileUrl = function (fid) {
    return '/sim/' + encodeURIComponent(this.bot) + '/photos/' + encodeURIComponent(fid);
  };

  Pane.prototype.merge = function (list) {
    var self = this, added = false;
    list.slice().sort(function (a, b) { return a.message_id - b.message_id; }).forEach(function (m) {
      var id = m.message_id, old = self.msgs[id];
      if (m.deleted) {
        if (old) { old.node.remove(); delete self.msgs[id]; }
        return;
      }
      var node = self.renderMessage(m);
      if (old) old.node.replaceWith(node);
      else {
        var next = null, last = self.list.lastElementChild;
        if (last && +last.dataset.messageId > id) {
          for (var k in self.msgs) if (+k > id && (!next || +k < +next.dataset.messageId)) next = self.msgs[k].node;
        }
        self.list.insertBefore(node, next);
        added = true;
      }
      self.msgs[id] = { data: m, node: node };
      var rm = m.reply_markup;
      if (m.from_bot && rm && (rm.keyboard || rm.remove_keyboard) && (id > self.kbFrom || (id === self.kbFrom && !old))) {
        self.kbFrom = id;
        self.kb = rm.keyboard ? rm : null;
        self.kbUsed = false;
      }
      if (!m.from_bot && self.kb && self.kb.one_time_keyboard && id > self.kbFrom && !self.loaded) self.kbUsed = true;
    });
    this.renderReplyKb();
    this.startWrap.hidden = Object.keys(this.msgs).length > 0;
    if (added) this.scrollBottom();
  };

  Pane.prototype.renderReplyKb = function () {
    var self = this, box = this.replyKb, kb = this.kb, show = !!(kb && !this.kbUsed);
    var sig = show ? JSON.stringify(kb) : '';
    if (sig === this.kbSig) return;  // unchanged: keep the buttons (and the scroll position)
    this.kbSig = sig;
    box.textContent = '';
    box.hidden = !show;
    this.input.placeholder = (show && kb.input_field_placeholder) || 'Ketik pesan…';
    if (!show) return;
    kb.keyboard.forEach(function (r) {
      var kr = box.appendChild(el('div', 'kb-row'));
      r.forEach(function (b) {
        if (typeof b === 'string') b = { text: b };
        var btn = button(kr, 'kb-btn', b.text);
        if (b.request_location) {
          btn.dataset.request = 'location';
          btn.onclick = function () { self.locBox.hidden = false; self.latIn.focus(); };
        } else if (b.request_contact) {
          btn.dataset.request = 'contact';
          btn.onclick = function () { self.sendContact(); };
        } else {
          btn.onclick = function () { self.sendText(b.text).then(function (ok) { if (ok) self.usedKb(); }); };
        }
      });
    });
    this.scrollBottom();
  };

  Pane.prototype.scrollBottom = function () { this.list.scrollTop = this.list.scrollHeight; };
  Pane.prototype.stickBottom = function () {
    var l = this.list;
    if (l.scrollHeight - l.scrollTop - l.clientHeight < 400) this.scrollBottom();
  };

  Pane.prototype.setOnline = function (ok) {
    this.node.classList.toggle('offline', !ok);
    this.status.textContent = ok ? 'online' : 'offline';
    this.status.title = ok ? '' : 'Server tidak terjangkau (server unreachable)';
  };

  Pane.prototype.wake = function () { if (this.wakeUp) this.wakeUp(); };
  Pane.prototype.nap = function (ms) {
    var self = this;
    return new Promise(function (r) {
      var t = setTimeout(done, ms);
      function done() { clearTimeout(t); self.wakeUp = null; r(); }
      self.wakeUp = done;
    });
  };

  Pane.prototype.reset = function () {
    var self = this;
    Object.keys(this.msgs).forEach(function (k) { self.msgs[k].node.remove(); });
    this.msgs = {}; this.rev = 0; this.kbFrom = 0; this.kb = null;
  };

  Pane.prototype.poll = async function () {
    var delay = 500, quick = true, path = '/sim/' + encodeURIComponent(this.bot) + '/chats/' + encodeURIComponent(this.chat) + '/messages';
    for (;;) {
      var ctl = new AbortController(), timer = setTimeout(function () { ctl.abort(); }, 40000);
      try {
        // a quick (wait=0) request first and after every error, so status and history show at once
        var r = await api('GET', path + '?after=' + this.rev + '&wait=' + (quick ? 0 : 25), undefined, ctl.signal);
        clearTimeout(timer);
        this.setOnline(true);
        delay = 500;
        quick = false;
        if (r.revision != null && r.revision < this.rev) { this.reset(); quick = true; continue; } // server restarted
        if (r.messages) this.merge(r.messages);
        if (r.revision != null) this.rev = r.revision;
        if ('keyboard' in r && JSON.stringify(r.keyboard || null) !== JSON.stringify(this.kb)) {
          this.kb = r.keyboard && r.keyboard.keyboard ? r.keyboard : null;  // the keyboard the server says the user sees
          this.kbUsed = false;
          this.renderReplyKb();
        }
        if (!this.loaded) { this.loaded = true; this.merge([]); }
        continue;
      } catch (e) {
        clearTimeout(timer);
        if (e && e.name === 'AbortError') continue;
        quick = true;
        if (e.status === 0 || e.status >= 500) { this.setOnline(false); delay = Math.min(delay * 2, 4000); }
        else {
          // 4xx, e.g. the chat does not exist yet: not offline; the first message sent wakes us
          this.setOnline(true);
          this.status.title = e.message;
          if (!this.loaded) { this.loaded = true; this.merge([]); }
          delay = Math.min(Math.max(delay * 2, 1000), 4000);
        }
        await this.nap(delay);
      }
    }
  };

  /* ---------- start-up ---------- */

  var panesEl = document.getElementById('panes'), notice = document.getElementById('notice');
  function say(t) { notice.textContent = t || ''; notice.hidden = !t; }

  async function personas() {
    for (var d = 500; ; d = Math.min(d * 2, 5000)) {
      try { return await api('GET', '/sim/personas'); } catch (e) {
        say(e.status === 0 ? 'Server tidak terjangkau, mencoba lagi… (offline)' : 'Gagal memuat persona: ' + e.message);
        await sleep(d);
      }
    }
  }

  async function main() {
    var q = new URLSearchParams(location.search), bot = q.get('bot'), user = q.get('user'), list;
    if (user) {
      while (!bot) {
        bot = (await personas()).bot;
        if (!bot) { say('Parameter bot=ID diperlukan (no bot yet).'); await sleep(3000); }
      }
      var title = q.get('title') || ('Pengguna ' + user);
      list = [{ user_id: user, title: title, start: q.get('start') || '' }];
      try {
        var probe = await api('GET', '/sim/' + encodeURIComponent(bot) + '/chats/' + encodeURIComponent(user) + '/messages?after=0&wait=0');
        if (!probe.messages || !probe.messages.length) throw probe;
      } catch (e) {
        try {
          var uid = Number(user);
          await api('POST', '/sim/users', { id: isNaN(uid) ? user : uid, first_name: title, language_code: 'id' });
        } catch (e2) { say('Gagal membuat pengguna: ' + e2.message); }
      }
      document.body.classList.add('single');
      try {
        var me = (await api('GET', '/sim/bots')).filter(function (x) { return String(x.id) === String(bot); })[0];
        if (me) document.getElementById('bot-name').dataset.username = me.username;
      } catch (e) { /* only cosmetic */ }
    } else {
      for (;;) {  // wait until the demo has set its personas
        var r = await personas();
        bot = r.bot;
        list = r.personas || [];
        if (bot != null && list.length) break;
        say('Belum ada persona. Jalankan demo atau buka ?bot=ID&user=ID. (No personas yet.)');
        await sleep(3000);
      }
      if (r.bot_username) document.getElementById('bot-name').dataset.username = r.bot_username;
      (r.links || []).forEach(function (l) {  // e.g. the demo's web dashboard
        var a = link(l.url, 'top-link');
        a.textContent = l.title;
        document.getElementById('links').appendChild(a);
      });
    }
    say('');
    var bn = document.getElementById('bot-name');
    bn.textContent = bn.dataset.username ? '@' + bn.dataset.username : 'bot ' + bot;
    document.title = (list.length === 1 ? list[0].title + ' — ' : '') + 'Pintu simulator';
    list.forEach(function (p) {
      var pane = new Pane(bot, p);
      panesEl.appendChild(pane.node);
      pane.poll();
    });
    document.body.dataset.ready = '1';
  }

  main();
})();
