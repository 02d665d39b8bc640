// The SMS tab of the sidebar (plugins/exotel-sms.html adds it): the sandbox phone, and the operators'
// view: the SMS log in and out, a customer's thread and data request, the opt-outs, the active
// conversations, the outbox and the day at a glance. It reads the admin API exotel-sms/… (runtime:
// src/plugins/operators-endpoints.ts), page by page, and refreshes what is on show every few seconds
// while the tab is open. Messages: plugins/locales/<lang>/exotel-sms.json. Look: exotel-sms.css.
/* global RED, $ */
(function () {
    'use strict';
    if (window.ExotelSmsTab) return;

    var API = 'exotel-sms/';
    var REFRESH_MS = 5000;
    var SECTIONS = [
        { id: 'phone', icon: 'fa-mobile' },
        { id: 'log', icon: 'fa-list' },
        { id: 'optOuts', icon: 'fa-ban' },
        { id: 'conversations', icon: 'fa-comments-o' },
        { id: 'outbox', icon: 'fa-paper-plane-o' },
        { id: 'glance', icon: 'fa-bar-chart' }
    ];
    // the chart's series, in the order of its bars and legend
    var SERIES = ['received', 'sent', 'delivered', 'failed'];

    var t = function (key, options) { return RED._('@smsflow/node-red-exotel/exotel-sms:exotel-sms.' + key, options); };

    // ---- helpers the phone shares -------------------------------------------------------------

    function errorText(xhr) {
        var body = xhr && xhr.responseJSON;
        if (body && body.error) return body.error;
        if (xhr && xhr.status === 0) return t('errors.offline');
        if (xhr && xhr.status === 401) return t('errors.permission');
        return (xhr && (xhr.status + ' ' + (xhr.statusText || ''))) || '?';
    }

    function timeOf(at) {
        var date = new Date(at);
        var now = new Date();
        var time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
        return date.toDateString() === now.toDateString() ? time : date.toLocaleDateString([], { day: 'numeric', month: 'short' }) + ' ' + time;
    }

    /** A duration in the largest two units that say it. */
    function duration(ms) {
        var s = Math.max(0, Math.round(ms / 1000));
        if (s < 60) return t('time.seconds', { n: s });
        var m = Math.floor(s / 60);
        if (m < 60) return t('time.minutes', { n: m });
        var h = Math.floor(m / 60);
        if (h < 24) return t('time.hours', { n: h }) + (m % 60 ? ' ' + t('time.minutes', { n: m % 60 }) : '');
        return t('time.days', { n: Math.floor(h / 24) }) + (h % 24 ? ' ' + t('time.hours', { n: h % 24 }) : '');
    }

    /** Exotel's own error codes are numbers: what its HTTP status says instead. */
    function codeOfStatus(status) {
        if (status === 429) return 'rate_limited';
        if (status === 503) return 'unavailable';
        if (status >= 500) return 'server_error';
        if (status === 401 || status === 403) return 'unauthorized';
        return '';
    }

    /** A failed send's cause and fix in plain words, from the catalogue by msg.error.code. */
    function causeOf(error) {
        var code = String((error && error.code) || '');
        if (!/^[a-z_]+$/.test(code) && error && typeof error.httpStatus === 'number') code = codeOfStatus(error.httpStatus) || code;
        var known = /^[a-z_]+$/.test(code) && t('causes.' + code + '.cause', { defaultValue: '' });
        if (known) return { cause: known, fix: t('causes.' + code + '.fix', { defaultValue: '' }) };
        return { cause: t('causes.other.cause', { message: (error && error.message) || code }), fix: t('causes.other.fix') };
    }

    /** A node of the flows: its label on the canvas, a click shows it. */
    function nodeLink(ref) {
        var node = ref && ref.id && RED.nodes.node(ref.id);
        var label = node ? RED.utils.getNodeLabel(node, node.type) : ((ref && (ref.name || ref.id)) || '?');
        var link = $('<a href="#" class="exotel-sms-node"></a>').text(label);
        link.on('click', function (event) {
            event.preventDefault();
            if (RED.nodes.node(ref.id)) {
                RED.view.reveal(ref.id);
                RED.view.select(ref.id);
            }
            else RED.notify($('<p>').text(t('errors.noNode')), 'warning');
        });
        return link;
    }

    function fail(key) {
        return function (xhr) {
            RED.notify($('<p>').text(t(key, { message: errorText(xhr) })), 'error');
        };
    }

    function post(url, body) {
        return $.ajax({ url: API + url, method: 'POST', contentType: 'application/json', data: JSON.stringify(body || {}), dataType: 'json' });
    }

    /** Asks before a change that cannot be undone; `then` runs on yes. */
    function confirm(text, yes, then) {
        var note = RED.notify($('<p>').text(text), {
            modal: true,
            fixed: true,
            type: 'warning',
            buttons: [
                { text: t('actions.cancel'), click: function () { note.close(); } },
                { text: yes, class: 'primary', id: 'exotel-sms-confirm', click: function () { note.close(); then(); } }
            ]
        });
    }

    /** Fetches a file of the admin API (with the editor's credentials) and hands it to the browser as a download. */
    function download(url, fallbackName) {
        return $.ajax({ url: API + url, dataType: 'text' }).then(function (text, _status, xhr) {
            var disposition = xhr.getResponseHeader('Content-Disposition') || '';
            var name = (/filename="([^"]+)"/.exec(disposition) || [])[1] || fallbackName;
            var blob = new Blob([text], { type: xhr.getResponseHeader('Content-Type') || 'text/plain' });
            var link = document.createElement('a');
            link.href = URL.createObjectURL(blob);
            link.download = name;
            document.body.appendChild(link);
            link.click();
            setTimeout(function () {
                URL.revokeObjectURL(link.href);
                link.remove();
            }, 1000);
        }, fail('errors.download'));
    }

    function button(icon, label, id) {
        var b = $('<button type="button" class="red-ui-button red-ui-button-small"></button>');
        if (id) b.attr('id', id);
        if (icon) b.append($('<i class="fa">').addClass(icon));
        if (label) b.append($('<span>').text((icon ? ' ' : '') + label));
        return b;
    }

    function searchBox(id, placeholder) {
        return $('<input type="search" class="exotel-sms-search" autocomplete="off">').attr({ id: id, placeholder: placeholder });
    }

    /** A search box that reads again as the user stops typing; the editor's shortcuts stay out of it. */
    function searchAs(search, reload) {
        var timer;
        search.on('input', function () {
            clearTimeout(timer);
            timer = setTimeout(reload, 300);
        });
        search.on('keydown', function (event) { event.stopPropagation(); });
    }

    function select(id, values) {
        var s = $('<select class="exotel-sms-select">').attr('id', id);
        values.forEach(function (v) { $('<option>').val(v[0]).text(v[1]).appendTo(s); });
        return s;
    }

    function accountOptions(selectElement, accounts) {
        var value = selectElement.val();
        selectElement.empty();
        $('<option value="">').text(t('filters.allAccounts')).appendTo(selectElement);
        (accounts || []).forEach(function (a) { $('<option>').val(a.id).text(a.name).appendTo(selectElement); });
        selectElement.val(value && selectElement.find('option[value="' + value + '"]').length ? value : '');
        selectElement.toggle((accounts || []).length > 1);
    }

    /**
     * A list read page by page from the admin API: `url` and `params()` give the query, `render(item)`
     * a row. The first page is read again on refresh, unless more pages were read (the list then
     * stays as the user scrolled it until the filters change).
     */
    function pagedList(options) {
        var element = $('<div class="exotel-sms-list"></div>').attr('id', options.id);
        var rows = $('<div class="exotel-sms-rows"></div>').appendTo(element);
        var more = button(null, t('actions.more')).addClass('exotel-sms-more').hide().appendTo(element);
        var state = { next: null, pages: 0, seq: 0 };
        function load(append) {
            var seq = ++state.seq;
            var params = $.extend({}, options.params());
            if (append) params.after = state.next;
            return $.getJSON(API + options.url, params).then(function (page) {
                if (seq !== state.seq) return;
                if (!append) {
                    rows.empty();
                    state.pages = 0;
                }
                state.pages++;
                state.next = page.next;
                page.items.forEach(function (item) { rows.append(options.render(item)); });
                if (!rows.children().length) $('<div class="exotel-sms-empty"></div>').text(options.empty()).appendTo(rows);
                more.toggle(!!page.next);
            }, function (xhr) {
                if (seq !== state.seq) return;
                rows.empty();
                $('<div class="exotel-sms-empty exotel-sms-error"></div>').text(t('errors.list', { message: errorText(xhr) })).appendTo(rows);
                more.hide();
            });
        }
        more.on('click', function () { load(true); });
        return {
            element: element,
            reload: function () { return load(false); },
            refresh: function () { return state.pages > 1 ? $.when() : load(false); }
        };
    }

    // ---- the sections -------------------------------------------------------------------------

    function statusBadge(status, extra) {
        return $('<span class="exotel-sms-badge"></span>').addClass('exotel-sms-badge-' + status).text(t('state.' + status, { defaultValue: status }) + (extra || ''));
    }

    function phoneLink(phone, open) {
        return $('<a href="#" class="exotel-sms-phone"></a>').text(phone).attr('data-phone', phone).on('click', function (event) {
            event.preventDefault();
            open(phone);
        });
    }

    /** Why an SMS in node refused a callback, in plain words (how many more like it a flood had). */
    function refusalText(line) {
        var code = /^[a-z_]+$/.test(line.reason.code) ? line.reason.code : 'refused';
        var text = t('refusals.' + code, { detail: line.reason.message, defaultValue: '' }) || t('refusals.refused', { detail: line.reason.message });
        return text + (line.dropped ? ' ' + t('log.notLogged', { count: line.dropped }) : '');
    }

    /** Why a line failed: the send node's error (its cause and fix), the delivery report's verdict, or why a callback was refused. */
    function reasonLine(line) {
        if (!line.reason) return null;
        var code = line.reason.code;
        if (line.status === 'rejected') {
            return $('<div class="exotel-sms-reason"></div>').text(refusalText(line)).attr('title', line.reason.httpStatus + ': ' + line.reason.message);
        }
        var known = /^[a-z_]+$/.test(code) && t('causes.' + code + '.cause', { defaultValue: '' });
        var text;
        if (!known && line.sid && /^failed/.test(code)) text = t('log.notDelivered', { detail: line.reason.message || code });
        else {
            var cause = causeOf(line.reason);
            text = cause.cause + (cause.fix ? ' ' + cause.fix : '');
        }
        return $('<div class="exotel-sms-reason"></div>').text(text).attr('title', code + ': ' + line.reason.message);
    }

    function logRow(line, openCustomer) {
        var row = $('<div class="exotel-sms-row exotel-sms-log-line"></div>')
            .addClass('exotel-sms-' + line.direction)
            .attr({ 'data-direction': line.direction, 'data-status': line.status, 'data-id': line.id });
        var head = $('<div class="exotel-sms-row-head"></div>').appendTo(row);
        $('<i class="fa exotel-sms-direction"></i>').addClass(line.direction === 'in' ? 'fa-arrow-down' : 'fa-arrow-up')
            .attr('title', t(line.direction === 'in' ? 'log.in' : 'log.out')).appendTo(head);
        if (line.phone) head.append(phoneLink(line.phone, openCustomer));
        else $('<span class="exotel-sms-phone exotel-sms-unknown"></span>').text(t('log.unknownSender')).appendTo(head);
        head.append(statusBadge(line.status, line.duplicates ? ' · ' + t('log.duplicates', { count: line.duplicates }) : ''));
        $('<span class="exotel-sms-time"></span>').text(timeOf(line.at)).attr('title', new Date(line.at).toLocaleString()).appendTo(head);
        $('<div class="exotel-sms-body"></div>').text(line.body).appendTo(row);
        var reason = reasonLine(line);
        if (reason) row.append(reason);
        var meta = $('<div class="exotel-sms-meta"></div>').appendTo(row);
        if (line.account) meta.append($('<span>').text(line.account));
        if (line.remote) meta.append(line.account ? ' · ' : '').append($('<span class="exotel-sms-remote">').text(t('log.address', { address: line.remote })));
        if (line.node) meta.append(' · ').append(nodeLink(line.node));
        if (line.sid) meta.append(' · ').append($('<span class="exotel-sms-sid">').text(line.sid));
        return row;
    }

    /** The log, and a customer's page (their thread, opt-out and data request) over it. */
    function logSection(context) {
        var section = $('<div class="exotel-sms-section" id="exotel-sms-log"></div>');
        var toolbar = $('<div class="exotel-sms-toolbar"></div>').appendTo(section);
        var search = searchBox('exotel-sms-log-search', t('log.search')).appendTo(toolbar);
        var direction = select('exotel-sms-log-direction', [['', t('filters.bothDirections')], ['in', t('log.in')], ['out', t('log.out')]]).appendTo(toolbar);
        var account = select('exotel-sms-log-account', []).hide().appendTo(toolbar);
        var dates = $('<div class="exotel-sms-dates"></div>').appendTo(toolbar);
        $('<label for="exotel-sms-log-from"></label>').text(t('filters.from')).appendTo(dates);
        var from = $('<input type="date" id="exotel-sms-log-from">').appendTo(dates);
        $('<label for="exotel-sms-log-to"></label>').text(t('filters.to')).appendTo(dates);
        var to = $('<input type="date" id="exotel-sms-log-to">').appendTo(dates);

        function dayStart(value, plusDays) {
            if (!value) return undefined;
            var parts = value.split('-').map(Number);
            return new Date(parts[0], parts[1] - 1, parts[2] + (plusDays || 0)).getTime();
        }
        var list = pagedList({
            id: 'exotel-sms-log-list',
            url: 'log',
            params: function () {
                var p = {};
                if (search.val()) p.q = String(search.val()).trim();
                if (direction.val()) p.direction = direction.val();
                if (account.val()) p.account = account.val();
                var since = dayStart(from.val());
                var until = dayStart(to.val(), 1);
                if (since !== undefined) p.since = since;
                if (until !== undefined) p.until = until;
                return p;
            },
            render: function (line) { return logRow(line, context.openCustomer); },
            empty: function () { return t('log.empty'); }
        });
        section.append(list.element);
        searchAs(search, list.reload);
        direction.add(account).add(from).add(to).on('change', function () { list.reload(); });
        return {
            element: section,
            refresh: list.refresh,
            reload: list.reload,
            accounts: function (accounts) { accountOptions(account, accounts); }
        };
    }

    function customerPanel(context) {
        var panel = $('<div class="exotel-sms-section exotel-sms-customer" id="exotel-sms-customer"></div>');
        var head = $('<div class="exotel-sms-toolbar"></div>').appendTo(panel);
        var back = button('fa-arrow-left', t('actions.back'), 'exotel-sms-customer-back').appendTo(head);
        var title = $('<span class="exotel-sms-customer-phone" id="exotel-sms-customer-phone"></span>').appendTo(head);
        var status = $('<div class="exotel-sms-customer-status" id="exotel-sms-customer-status"></div>').appendTo(panel);
        var actions = $('<div class="exotel-sms-actions"></div>').appendTo(panel);
        var optOut = button('fa-ban', t('optOuts.optOut'), 'exotel-sms-customer-opt-out').appendTo(actions);
        var optIn = button('fa-check', t('optOuts.optIn'), 'exotel-sms-customer-opt-in').appendTo(actions);
        var exportData = button('fa-download', t('customer.export'), 'exotel-sms-customer-export').appendTo(actions);
        var erase = button('fa-eraser', t('customer.erase'), 'exotel-sms-customer-erase').appendTo(actions);
        $('<div class="exotel-sms-heading"></div>').text(t('customer.thread')).appendTo(panel);
        var phone = '';
        var list = pagedList({
            id: 'exotel-sms-thread-list',
            url: 'log',
            params: function () { return { phone: phone }; },
            render: function (line) { return logRow(line, function () {}); },
            empty: function () { return t('customer.noSms'); }
        });
        panel.append(list.element);

        function loadStatus() {
            return $.getJSON(API + 'opt-outs/history', { phone: phone }).then(function (result) {
                status.empty();
                var record = result.record;
                var text = !record ? t('customer.noOptOut') : t(record.status === 'opted-out' ? 'customer.optedOut' : 'customer.optedIn', { when: timeOf(record.updatedAt), source: record.source });
                status.append(statusBadge(record ? record.status : 'none')).append(' ').append($('<span>').text(text));
                optOut.toggle(!record || record.status !== 'opted-out');
                optIn.toggle(!!record && record.status === 'opted-out');
            }, fail('errors.list'));
        }
        function setStatus(value) {
            post('opt-outs', { phone: phone, status: value }).then(function () {
                loadStatus();
                context.changed();
            }, fail('errors.change'));
        }
        optOut.on('click', function () { setStatus('opted-out'); });
        optIn.on('click', function () { setStatus('opted-in'); });
        exportData.on('click', function () { download('numbers/' + encodeURIComponent(phone), 'exotel-sms-data.json'); });
        erase.on('click', function () {
            confirm(t('customer.eraseConfirm', { phone: phone }), t('customer.erase'), function () {
                $.ajax({ url: API + 'numbers/' + encodeURIComponent(phone), method: 'DELETE', dataType: 'json' }).then(function (erased) {
                    RED.notify($('<p>').text(t('customer.erased', { phone: phone, inbound: erased.inbound, sent: erased.sent, conversations: erased.conversations, outbox: erased.outbox })), 'success');
                    list.reload();
                    context.changed();
                }, fail('errors.change'));
            });
        });
        back.on('click', function () { context.closeCustomer(); });
        return {
            element: panel,
            show: function (number) {
                phone = number;
                title.text(number);
                status.empty();
                loadStatus();
                return list.reload();
            },
            refresh: function () { return phone ? $.when(list.refresh(), loadStatus()) : $.when(); }
        };
    }

    function optOutsSection(context) {
        var section = $('<div class="exotel-sms-section" id="exotel-sms-opt-outs"></div>');
        var toolbar = $('<div class="exotel-sms-toolbar"></div>').appendTo(section);
        var search = searchBox('exotel-sms-opt-outs-search', t('optOuts.search')).appendTo(toolbar);
        var status = select('exotel-sms-opt-outs-status', [['opted-out', t('optOuts.optedOut')], ['opted-in', t('optOuts.optedIn')], ['all', t('optOuts.all')]]).appendTo(toolbar);
        var actions = $('<div class="exotel-sms-actions"></div>').appendTo(section);
        var exportCsv = button('fa-download', t('optOuts.export'), 'exotel-sms-opt-outs-export').appendTo(actions);
        var importCsv = button('fa-upload', t('optOuts.import'), 'exotel-sms-opt-outs-import').appendTo(actions);
        var file = $('<input type="file" accept=".csv,text/csv,text/plain" id="exotel-sms-opt-outs-file">').hide().appendTo(actions);
        var add = $('<div class="exotel-sms-add"></div>').appendTo(section);
        var number = $('<input type="tel" id="exotel-sms-opt-outs-number" autocomplete="off">').attr('placeholder', t('optOuts.numberPlaceholder')).appendTo(add);
        var addOut = button('fa-ban', t('optOuts.optOut'), 'exotel-sms-opt-outs-add').appendTo(add);
        number.on('keydown', function (event) { event.stopPropagation(); });

        function row(record) {
            var r = $('<div class="exotel-sms-row exotel-sms-opt-out"></div>').attr({ 'data-phone': record.phone, 'data-status': record.status });
            var head = $('<div class="exotel-sms-row-head"></div>').appendTo(r);
            var toggle = $('<a href="#" class="exotel-sms-expand"><i class="fa fa-caret-right"></i></a>').appendTo(head);
            head.append(phoneLink(record.phone, context.openCustomer));
            head.append(statusBadge(record.status));
            $('<span class="exotel-sms-time"></span>').text(timeOf(record.updatedAt)).appendTo(head);
            $('<div class="exotel-sms-meta"></div>').text(t('optOuts.by', { keyword: record.keyword || '–', source: record.source })).appendTo(r);
            var history = $('<div class="exotel-sms-history"></div>').hide().appendTo(r);
            var flip = button(record.status === 'opted-out' ? 'fa-check' : 'fa-ban', t(record.status === 'opted-out' ? 'optOuts.optIn' : 'optOuts.optOut'))
                .addClass('exotel-sms-row-action').appendTo(head);
            flip.on('click', function () {
                post('opt-outs', { phone: record.phone, status: record.status === 'opted-out' ? 'opted-in' : 'opted-out' }).then(function () {
                    list.reload();
                    context.changed();
                }, fail('errors.change'));
            });
            toggle.on('click', function (event) {
                event.preventDefault();
                var open = !history.is(':visible');
                toggle.find('i').toggleClass('fa-caret-right', !open).toggleClass('fa-caret-down', open);
                if (!open) return history.hide();
                $.getJSON(API + 'opt-outs/history', { phone: record.phone }).then(function (result) {
                    history.empty().show();
                    result.history.forEach(function (h) {
                        $('<div class="exotel-sms-history-line"></div>')
                            .append($('<span class="exotel-sms-time"></span>').text(new Date(h.at).toLocaleString()))
                            .append(' ').append(statusBadge(h.status))
                            .append(' ').append($('<span>').text(t(h.by ? 'optOuts.historyBy' : 'optOuts.history', { keyword: h.keyword || '–', source: h.source, by: h.by })))
                            .appendTo(history);
                    });
                }, fail('errors.list'));
            });
            return r;
        }
        var list = pagedList({
            id: 'exotel-sms-opt-outs-list',
            url: 'opt-outs',
            params: function () { return { q: String(search.val() || '').trim(), status: status.val() }; },
            render: row,
            empty: function () { return t('optOuts.empty'); }
        });
        section.append(list.element);
        searchAs(search, list.reload);
        status.on('change', function () { list.reload(); });
        exportCsv.on('click', function () { download('opt-outs.csv', 'opt-outs.csv'); });
        importCsv.on('click', function () { file.val('').trigger('click'); });
        file.on('change', function () {
            var chosen = file[0].files && file[0].files[0];
            if (!chosen) return;
            var reader = new FileReader();
            reader.onload = function () {
                $.ajax({ url: API + 'opt-outs/import?status=opted-out', method: 'POST', contentType: 'text/csv', processData: false, data: String(reader.result), dataType: 'json' })
                    .then(function (result) {
                        var text = t('optOuts.imported', { changed: result.changed, unchanged: result.unchanged });
                        if (result.refusedCount) {
                            text += ' ' + t('optOuts.refused', { count: result.refusedCount, lines: result.refused.map(function (r) { return r.line; }).join(', ') });
                        }
                        RED.notify($('<p>').text(text), result.refusedCount ? 'warning' : 'success');
                        list.reload();
                        context.changed();
                    }, fail('errors.import'));
            };
            reader.readAsText(chosen);
        });
        addOut.on('click', function () {
            var value = String(number.val() || '').trim();
            if (!value) return number.trigger('focus');
            post('opt-outs', { phone: value, status: 'opted-out' }).then(function (record) {
                number.val('');
                RED.notify($('<p>').text(t('optOuts.done', { phone: record.phone })), 'success');
                list.reload();
                context.changed();
            }, fail('errors.change'));
        });
        return { element: section, refresh: list.refresh, reload: list.reload };
    }

    function conversationsSection(context) {
        var section = $('<div class="exotel-sms-section" id="exotel-sms-conversations"></div>');
        var toolbar = $('<div class="exotel-sms-toolbar"></div>').appendTo(section);
        var search = searchBox('exotel-sms-conversations-search', t('conversations.search')).appendTo(toolbar);
        function row(c) {
            var r = $('<div class="exotel-sms-row exotel-sms-conversation"></div>').attr({ 'data-name': c.name, 'data-key': c.key });
            var head = $('<div class="exotel-sms-row-head"></div>').appendTo(r);
            $('<span class="exotel-sms-conversation-name"></span>').text(c.name).appendTo(head);
            head.append(phoneLink(c.key, context.openCustomer));
            $('<span class="exotel-sms-badge exotel-sms-badge-step"></span>').text(c.step).attr('title', t('conversations.step')).appendTo(head);
            var end = button('fa-stop', t('conversations.end')).addClass('exotel-sms-row-action').appendTo(head);
            var facts = [t('conversations.age', { age: duration(c.ageMs) })];
            facts.push(c.timeoutInMs === null ? t('conversations.noTimeout') : t('conversations.timeoutIn', { time: duration(c.timeoutInMs) }));
            facts.push(t('conversations.expiresIn', { time: duration(c.expiresInMs) }));
            $('<div class="exotel-sms-meta"></div>').text(facts.join(' · ')).appendTo(r);
            var data = JSON.stringify(c.data);
            if (data && data !== '{}') $('<pre class="exotel-sms-data"></pre>').text(data.length > 300 ? data.slice(0, 299) + '…' : data).attr('title', JSON.stringify(c.data, null, 2)).appendTo(r);
            end.on('click', function () {
                confirm(t('conversations.endConfirm', { name: c.name, key: c.key }), t('conversations.end'), function () {
                    post('conversations/end', { name: c.name, key: c.key }).then(function () {
                        list.reload();
                        context.changed();
                    }, fail('errors.change'));
                });
            });
            return r;
        }
        var list = pagedList({
            id: 'exotel-sms-conversations-list',
            url: 'conversations',
            params: function () { return { q: String(search.val() || '').trim() }; },
            render: row,
            empty: function () { return t('conversations.empty'); }
        });
        section.append(list.element);
        searchAs(search, list.reload);
        return { element: section, refresh: list.refresh, reload: list.reload };
    }

    function outboxSection(context) {
        var section = $('<div class="exotel-sms-section" id="exotel-sms-outbox"></div>');
        var toolbar = $('<div class="exotel-sms-toolbar"></div>').appendTo(section);
        var state = select('exotel-sms-outbox-state', [['', t('outbox.all')], ['queued', t('outbox.queuedOrHeld')], ['failed', t('state.failed')]]).appendTo(toolbar);
        function row(entry) {
            var r = $('<div class="exotel-sms-row exotel-sms-outbox-entry"></div>').attr({ 'data-id': entry.id, 'data-state': entry.state });
            var head = $('<div class="exotel-sms-row-head"></div>').appendTo(r);
            head.append(phoneLink(entry.phone, context.openCustomer));
            head.append(statusBadge(entry.state));
            $('<span class="exotel-sms-time"></span>').text(timeOf(entry.updatedAt)).appendTo(head);
            $('<div class="exotel-sms-body"></div>').text(entry.body).appendTo(r);
            if (entry.heldUntil) $('<div class="exotel-sms-meta exotel-sms-held"></div>').text(t('outbox.heldUntil', { time: timeOf(entry.heldUntil) })).appendTo(r);
            if (entry.reason && entry.state !== 'sending') {
                var cause = causeOf(entry.reason);
                $('<div class="exotel-sms-reason"></div>').text(cause.cause + (cause.fix ? ' ' + cause.fix : '')).attr('title', entry.reason.code + ': ' + entry.reason.message).appendTo(r);
            }
            var meta = $('<div class="exotel-sms-meta"></div>').appendTo(r);
            meta.append($('<span>').text(t('outbox.attempts', { count: entry.attempts }))).append(' · ').append(nodeLink(entry.node));
            if (entry.state === 'failed') {
                var actions = $('<div class="exotel-sms-actions"></div>').appendTo(r);
                var again = button('fa-repeat', t('outbox.retry')).addClass('exotel-sms-retry').appendTo(actions);
                var discard = button('fa-trash-o', t('outbox.discard')).addClass('exotel-sms-discard').appendTo(actions);
                if (entry.holdsCode) again.prop('disabled', true).attr('title', t('outbox.holdsCode'));
                else if (!entry.node.deployed) again.prop('disabled', true).attr('title', t('outbox.nodeGone'));
                again.on('click', function () {
                    var go = function () {
                        again.prop('disabled', true);
                        post('outbox/' + entry.id + '/retry').then(function () {
                            RED.notify($('<p>').text(t('outbox.queuedAgain', { phone: entry.phone })), 'success');
                            list.reload();
                            context.changed();
                        }, function (xhr) {
                            again.prop('disabled', false);
                            fail('errors.change')(xhr);
                        });
                    };
                    // a send that may have gone out: the customer could get it twice
                    if (entry.maybeSent) confirm(t('outbox.maybeSentConfirm', { phone: entry.phone }), t('outbox.retry'), go);
                    else go();
                });
                discard.on('click', function () {
                    confirm(t('outbox.discardConfirm', { phone: entry.phone }), t('outbox.discard'), function () {
                        $.ajax({ url: API + 'outbox/' + entry.id, method: 'DELETE', dataType: 'json' }).then(function () {
                            list.reload();
                            context.changed();
                        }, fail('errors.change'));
                    });
                });
            }
            return r;
        }
        var list = pagedList({
            id: 'exotel-sms-outbox-list',
            url: 'outbox',
            params: function () { return state.val() ? { state: state.val() } : {}; },
            render: row,
            empty: function () { return t('outbox.empty'); }
        });
        section.append(list.element);
        state.on('change', function () { list.reload(); });
        return { element: section, refresh: list.refresh, reload: list.reload };
    }

    /** The hours as grouped bars, one colour a series, in plain SVG (the editor may be offline). */
    function chart(hours) {
        var NS = 'http://www.w3.org/2000/svg';
        var width = 300;
        var height = 120;
        var top = 8;
        var bottom = 18;
        var left = 22;
        var n = hours.received.length;
        var max = 1;
        SERIES.forEach(function (s) { hours[s].forEach(function (v) { max = Math.max(max, v); }); });
        var slot = (width - left) / n;
        var bar = Math.max(1, (slot - 2) / SERIES.length);
        function el(name, attrs, text) {
            var e = document.createElementNS(NS, name);
            Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
            if (text !== undefined) e.textContent = text;
            return e;
        }
        var svg = el('svg', { viewBox: '0 0 ' + width + ' ' + height, class: 'exotel-sms-chart', role: 'img', 'aria-label': t('glance.chart') });
        var plot = height - top - bottom;
        svg.appendChild(el('line', { x1: left, y1: top + plot, x2: width, y2: top + plot, class: 'exotel-sms-chart-axis' }));
        svg.appendChild(el('text', { x: left - 3, y: top + 4, 'text-anchor': 'end', class: 'exotel-sms-chart-label' }, String(max)));
        svg.appendChild(el('text', { x: left - 3, y: top + plot, 'text-anchor': 'end', class: 'exotel-sms-chart-label' }, '0'));
        for (var i = 0; i < n; i++) {
            var x = left + i * slot + 1;
            var at = new Date(hours.start + i * hours.bucketMs);
            SERIES.forEach(function (s, k) {
                var v = hours[s][i];
                if (!v) return;
                var h = Math.max(1, Math.round(v / max * plot));
                var rect = el('rect', { x: (x + k * bar).toFixed(1), y: top + plot - h, width: bar.toFixed(1), height: h, class: 'exotel-sms-chart-' + s });
                rect.appendChild(el('title', {}, at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) + ' · ' + t('glance.' + s) + ': ' + v));
                svg.appendChild(rect);
            });
            if (at.getHours() % 6 === 0) {
                svg.appendChild(el('text', { x: (x + slot / 2).toFixed(1), y: height - 5, 'text-anchor': 'middle', class: 'exotel-sms-chart-label' },
                    at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
            }
        }
        return svg;
    }

    function glanceSection(context) {
        var section = $('<div class="exotel-sms-section" id="exotel-sms-glance"></div>');
        var toolbar = $('<div class="exotel-sms-toolbar"></div>').appendTo(section);
        var account = select('exotel-sms-glance-account', []).hide().appendTo(toolbar);
        var body = $('<div class="exotel-sms-glance-body"></div>').appendTo(section);
        var seq = 0;
        function tile(id, value, label, section) {
            var tileElement = $('<div class="exotel-sms-tile"></div>').attr('id', 'exotel-sms-glance-' + id).addClass('exotel-sms-tile-' + id);
            $('<div class="exotel-sms-tile-value"></div>').text(String(value)).appendTo(tileElement);
            $('<div class="exotel-sms-tile-label"></div>').text(label).appendTo(tileElement);
            if (section) tileElement.addClass('exotel-sms-tile-link').attr('title', t('glance.open')).on('click', function () { context.show(section); });
            return tileElement;
        }
        function load() {
            var mine = ++seq;
            var now = new Date();
            var day = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
            var hour = new Date(now.getFullYear(), now.getMonth(), now.getDate(), now.getHours()).getTime();
            var params = { day: day, start: hour - 23 * 3600000 };
            if (account.val()) params.account = account.val();
            return $.getJSON(API + 'glance', params).then(function (g) {
                if (mine !== seq) return;
                accountOptions(account, g.accounts);
                context.accounts(g.accounts);
                body.empty();
                $('<div class="exotel-sms-heading"></div>').text(t('glance.today')).appendTo(body);
                var tiles = $('<div class="exotel-sms-tiles"></div>').appendTo(body);
                SERIES.forEach(function (s) { tiles.append(tile(s, g.today[s], t('glance.' + s), 'log')); });
                var now2 = $('<div class="exotel-sms-tiles"></div>').appendTo(body);
                now2.append(tile('opted-out', g.optedOut, t('glance.optedOut'), 'optOuts'));
                now2.append(tile('conversations', g.activeConversations, t('glance.conversations'), 'conversations'));
                now2.append(tile('queued', g.outbox.queued + g.outbox.sending, t('glance.queued'), 'outbox'));
                now2.append(tile('outbox-failed', g.outbox.failed, t('glance.outboxFailed'), 'outbox'));
                $('<div class="exotel-sms-heading"></div>').text(t('glance.perHour')).appendTo(body);
                body.append(chart(g.hours));
                var legend = $('<div class="exotel-sms-legend"></div>').appendTo(body);
                SERIES.forEach(function (s) {
                    legend.append($('<span>').append($('<i class="exotel-sms-swatch">').addClass('exotel-sms-chart-' + s)).append($('<span>').text(t('glance.' + s))));
                });
            }, function (xhr) {
                if (mine !== seq) return;
                body.empty();
                $('<div class="exotel-sms-empty exotel-sms-error"></div>').text(t('errors.list', { message: errorText(xhr) })).appendTo(body);
            });
        }
        account.on('change', load);
        return { element: section, refresh: load, reload: load };
    }

    // ---- the tab ------------------------------------------------------------------------------

    /**
     * Builds the tab's content: the sections' buttons, the sandbox phone (`phone`, built by the
     * plugin) and the operators' sections. `onShowPhone` runs when the phone is shown.
     */
    function create(options) {
        var content = $('<div id="exotel-sms" class="exotel-sms-tab"></div>');
        var nav = $('<div class="exotel-sms-nav" role="tablist"></div>').appendTo(content);
        var holder = $('<div class="exotel-sms-sections"></div>').appendTo(content);
        var current = null;
        var showing = false;
        var customerOpen = false;
        var sections = {};
        var context = {
            openCustomer: function (phone) {
                show('log');
                customerOpen = true;
                sections.log.element.hide();
                customer.element.show();
                customer.show(phone);
            },
            closeCustomer: function () {
                customerOpen = false;
                customer.element.hide();
                sections.log.element.show();
                sections.log.reload();
            },
            changed: function () { refresh(); },
            show: function (id) { show(id); },
            accounts: function (accounts) { if (sections.log) sections.log.accounts(accounts); }
        };
        sections.phone = { element: $('<div class="exotel-sms-section" id="exotel-sms-phone"></div>').append(options.phone), refresh: function () { return $.when(); } };
        sections.log = logSection(context);
        var customer = customerPanel(context);
        sections.optOuts = optOutsSection(context);
        sections.conversations = conversationsSection(context);
        sections.outbox = outboxSection(context);
        sections.glance = glanceSection(context);
        SECTIONS.forEach(function (s) {
            holder.append(sections[s.id].element.hide());
            var b = $('<button type="button" class="red-ui-button red-ui-button-small exotel-sms-nav-button" role="tab"></button>')
                .attr({ id: 'exotel-sms-show-' + s.id, 'data-section': s.id })
                .append($('<i class="fa">').addClass(s.icon)).append($('<span>').text(' ' + t('sections.' + s.id)))
                .appendTo(nav);
            b.on('click', function () { show(s.id); });
        });
        holder.append(customer.element.hide());

        function show(id) {
            if (!sections[id]) return;
            if (current !== id) {
                if (current) sections[current].element.hide();
                current = id;
                nav.children().removeClass('selected').attr('aria-selected', 'false');
                nav.children('[data-section="' + id + '"]').addClass('selected').attr('aria-selected', 'true');
                if (id === 'log' && customerOpen) customer.element.show();
                else {
                    customer.element.hide();
                    customerOpen = false;
                    sections[id].element.show();
                }
                if (id === 'phone') options.onShowPhone();
                else if (sections[id].reload) sections[id].reload();
            }
            if (!showing && RED.sidebar && typeof RED.sidebar.show === 'function' && !content.is(':visible')) {
                showing = true; // the tab's onchange shows its section again
                try {
                    RED.sidebar.show('exotel-sms');
                } finally {
                    showing = false;
                }
            }
        }
        function refresh() {
            if (!current || !content.is(':visible')) return $.when();
            if (current === 'log' && customerOpen) return customer.refresh();
            return sections[current].refresh();
        }
        setInterval(refresh, REFRESH_MS);
        return {
            content: content,
            show: show,
            refresh: refresh,
            current: function () { return current; }
        };
    }

    window.ExotelSmsTab = {
        create: create,
        errorText: errorText,
        timeOf: timeOf,
        causeOf: causeOf,
        nodeLink: nodeLink,
        duration: duration
    };
})();
