"use strict";
(function () {
	var token = null, es = null, retry = null, seen = {}, nev = 0;
	var MAX_EVENTS = 200;

	function $(id) { return document.getElementById(id); }

	/* Text only: nothing from the server is ever parsed as markup. */
	function cell(row, text) {
		var td = document.createElement("td");
		td.textContent = text === undefined || text === null ? "" : String(text);
		row.appendChild(td);
	}

	function fill(tableId, rows) {
		var tb = $(tableId).tBodies[0];
		while (tb.firstChild) tb.removeChild(tb.firstChild);
		rows.forEach(function (cols) {
			var tr = document.createElement("tr");
			cols.forEach(function (c) { cell(tr, c); });
			tb.appendChild(tr);
		});
	}

	function api(method, path) {
		return fetch(path, {
			method: method,
			headers: { "Authorization": "Bearer " + token },
			cache: "no-store",
			credentials: "omit",
			referrerPolicy: "no-referrer"
		}).then(function (r) {
			if (r.status === 401) throw new Error("the token was refused");
			return r.json().then(function (j) {
				if (!j.success && !j.data) throw new Error(j.error || ("HTTP " + r.status));
				return j.data;
			});
		});
	}

	function uptime(s) {
		var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
		    m = Math.floor(s % 3600 / 60);
		return (d ? d + "d " : "") + h + "h " + m + "m";
	}

	function showStatus(st) {
		$("c-status").textContent = st.maintenance ? "maintenance" : "ok";
		$("c-active").textContent = st.active_connections;
		$("c-users").textContent = st.total_users;
		$("c-uptime").textContent = uptime(st.uptime_secs || 0);
	}

	function showUsers(users, conns) {
		fill("users", users.map(function (u) {
			return [u.username, u.allow_shell ? "yes" : "no",
			    conns && conns[u.username] ? conns[u.username] : 0];
		}));
	}

	function showSessions(list) {
		fill("sessions", list.map(function (s) {
			return [s.session_id, s.username, s.protocol, s.source_ip,
			    s.target_host + ":" + s.target_port, s.started_at];
		}));
	}

	function showBans(list) {
		$("c-bans").textContent = list.length;
		fill("bans", list.map(function (b) { return [b.ip, b.expires_at]; }));
	}

	function snapshot(s) {
		showStatus(s);
		showUsers(s.users || [], s.connections || {});
		showSessions((s.sessions && s.sessions.sessions) || []);
		showBans(s.bans || []);
	}

	function addEvent(ev) {
		if (ev.id !== undefined) {
			if (seen[ev.id]) return;
			seen[ev.id] = true;
		}
		var li = document.createElement("li"), parts = [ev.timestamp, ev.event_type];
		Object.keys(ev).forEach(function (k) {
			if (k !== "timestamp" && k !== "event_type" && k !== "id")
				parts.push(k + "=" + JSON.stringify(ev[k]));
		});
		li.textContent = parts.join(" ");
		li.className = "ev";
		li.setAttribute("data-type", String(ev.event_type));
		var list = $("events");
		list.insertBefore(li, list.firstChild);
		if (++nev > MAX_EVENTS) { list.removeChild(list.lastChild); nev--; }
	}

	function feed(on, text) {
		var b = $("feed");
		b.textContent = text;
		b.className = "badge " + (on ? "on" : "off");
	}

	/* EventSource cannot send a header: trade the token for a one-time
	 * ticket, and get a fresh one for every reconnection. */
	function connect() {
		retry = null;
		api("POST", "/api/sse-ticket").then(function (d) {
			es = new EventSource("/api/events?ticket=" + encodeURIComponent(d.ticket));
			es.onopen = function () { feed(true, "live"); };
			es.onmessage = function (m) { snapshot(JSON.parse(m.data)); };
			es.addEventListener("audit", function (m) { addEvent(JSON.parse(m.data)); });
			es.onerror = function () {
				feed(false, "reconnecting");
				es.close();
				es = null;
				if (!retry) retry = setTimeout(connect, 3000);
			};
		}).catch(function (e) {
			feed(false, "offline");
			$("ctl-msg").textContent = e.message;
			if (!retry) retry = setTimeout(connect, 5000);
		});
	}

	function load() {
		return Promise.all([api("GET", "/api/status"), api("GET", "/api/users?details=1"),
		    api("GET", "/api/sessions"), api("GET", "/api/bans")]).then(function (r) {
			var conns = {};
			r[1].forEach(function (u) { conns[u.username] = u.current_connections; });
			showStatus(r[0]);
			showUsers(r[1], conns);
			showSessions(r[2]);
			showBans(r[3]);
		});
	}

	function start(t) {
		token = t;
		load().then(function () {
			$("login").hidden = true;
			$("app").hidden = false;
			connect();
		}).catch(function (e) {
			token = null;
			$("login-error").textContent = e.message;
		});
	}

	$("login-form").addEventListener("submit", function (e) {
		e.preventDefault();
		var t = $("token").value;
		$("token").value = "";
		if (t) start(t);
	});

	$("maint").addEventListener("click", function () {
		api("POST", "/api/maintenance").then(function (d) {
			$("ctl-msg").textContent = "maintenance " + (d.maintenance ? "on" : "off");
			return api("GET", "/api/status").then(showStatus);
		}).catch(function (e) { $("ctl-msg").textContent = e.message; });
	});

	/* #token=... : read it, then drop it from the address bar. */
	var m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
	if (m) {
		history.replaceState(null, "", location.pathname);
		start(decodeURIComponent(m[1]));
	}
})();
