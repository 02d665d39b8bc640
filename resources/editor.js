// Helpers shared by the editor files of @smsflow/node-red-exotel (nodes/*.html, plugins/*.html),
// loaded by each of them from resources/@smsflow/node-red-exotel/editor.js. The facts (defaults,
// enumerations, checks, migrations) are in the contracts bundle beside it (contracts.js, built
// from src/nodes/*/contract.ts): window.ExotelSmsContracts.
/* global RED, $ */
(function () {
    'use strict';
    if (window.ExotelSmsEditor) return;

    var PACKAGE = '@smsflow/node-red-exotel';

    /**
     * t(key, options) for a node type's message catalogue (locales/<lang>/<type>.json), usable before
     * a node exists: Node-RED names the namespace "<package>/<node set>".
     */
    function catalogue(type) {
        return function t(key, options) {
            return RED._(PACKAGE + '/' + type + ':' + type + '.' + key, options);
        };
    }

    // Validation messages may be shown as HTML: never echo what the user typed unescaped.
    function escape(value) {
        return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    }

    function shorten(value, max) {
        value = String(value);
        return value.length > max ? value.slice(0, max - 1) + '…' : value;
    }

    /** A contract's verdict (true, or {key, params}) as the editor shows it: true or the translated message. */
    function verdict(t, result) {
        if (result === true || result === 'typed') return true;
        var params = {};
        Object.keys(result.params || {}).forEach(function (name) {
            var value = result.params[name];
            params[name] = typeof value === 'number' ? value : escape(shorten(value, 40));
        });
        return t(result.key, params);
    }

    /** Whether the open edit dialog edits this node (its fields then hold changes not yet saved). */
    function editing(node) {
        var stack = RED.editor && RED.editor.getEditStack ? RED.editor.getEditStack() : [];
        return stack.length > 0 && stack[stack.length - 1] === node;
    }

    /**
     * A field as the user sees it: from the open edit dialog when it edits this node, otherwise as
     * saved on the node. `prefix` is 'node-input' (default) or 'node-config-input' for config nodes.
     */
    function current(node, field, fallback, prefix) {
        var input = editing(node) ? $('#' + (prefix || 'node-input') + '-' + field) : null;
        if (input && input.length) {
            if (input.attr('type') === 'checkbox') return input.prop('checked');
            return input.val() || fallback;
        }
        var value = node[field];
        return value === undefined || value === null || value === '' ? fallback : value;
    }

    /** The "Advanced" section of a dialog: a link that opens and closes it, open at first when `open`. */
    function advancedToggle(toggleSelector, sectionSelector, open) {
        var section = $(sectionSelector);
        var toggle = $(toggleSelector);
        function show(visible) {
            section.toggle(visible);
            toggle.find('i').toggleClass('fa-caret-right', !visible).toggleClass('fa-caret-down', visible);
        }
        toggle.on('click', function (event) {
            event.preventDefault();
            show(!section.is(':visible'));
        });
        show(!!open);
    }

    /**
     * A `validate` of the editor's defaults from a contract check of the value alone. It declares two
     * parameters: Node-RED shows a validator's message (on hover over the red field) only then.
     */
    function validator(t, check) {
        return function (value, opt) { // eslint-disable-line no-unused-vars
            return verdict(t, check(value));
        };
    }

    /**
     * oneditprepare: a TypedInput field in red says why on hover. Node-RED puts its validation
     * tooltip on the input a TypedInput hides, so the visible box gets the message as its title.
     */
    function explainOnHover(node, fields, prefix) {
        fields.forEach(function (field) {
            var input = $('#' + (prefix || 'node-input') + '-' + field);
            var spec = node._def.defaults[field];
            if (!input.length || !spec || !spec.validate) return;
            function explain() {
                var box = input.next('.red-ui-typedInput-container');
                var valid;
                try {
                    valid = spec.validate.call(node, input.typedInput('value'), { label: spec.label });
                } catch (err) {
                    valid = String(err && err.message);
                }
                if (typeof valid === 'string') box.attr('title', valid);
                else box.removeAttr('title');
            }
            input.on('change', explain);
            explain();
        });
    }

    /**
     * Fills a <select> with an enumeration of a contract, each value labelled by `labelOf`, and shows
     * `value` (Node-RED set the field before its options existed).
     */
    function options(selector, values, labelOf, value) {
        var select = $(selector).empty();
        values.forEach(function (each) {
            $('<option>').val(each).text(labelOf(each)).appendTo(select);
        });
        if (value !== undefined && value !== null) select.val(value);
    }

    function contractOf(type) {
        return window.ExotelSmsContracts.nodes[type].contract;
    }

    function savedConfig(node, contract) {
        var config = {};
        Object.keys(contract.defaults).forEach(function (key) {
            config[key] = node[key];
        });
        return config;
    }

    /** The node's properties as the runtime will read them: migrated to the current version. */
    function migrated(node, type) {
        var contract = contractOf(type);
        return window.ExotelSmsContracts.migrate(contract, savedConfig(node, contract));
    }

    /**
     * oneditprepare: a node saved by an older release (or without a version) is shown migrated to
     * the current version, in the dialog's fields; nothing changes until the user clicks Done.
     */
    function migrateOnOpen(node, type, prefix) {
        var contract = contractOf(type);
        var saved = savedConfig(node, contract);
        var migrated = window.ExotelSmsContracts.migrate(contract, saved);
        Object.keys(contract.defaults).forEach(function (key) {
            if (JSON.stringify(migrated[key]) === JSON.stringify(saved[key])) return;
            var input = $('#' + (prefix || 'node-input') + '-' + key);
            if (!input.length) return;
            if (input.attr('type') === 'checkbox') input.prop('checked', !!migrated[key]);
            else input.val(migrated[key]);
        });
        return migrated;
    }

    /**
     * oneditsave: the migrated values of properties without a field (the version among them) are
     * set on the node; Node-RED records them as changes (undo, deploy).
     */
    function migrateOnSave(node, type, prefix) {
        var contract = contractOf(type);
        var migrated = window.ExotelSmsContracts.migrate(contract, savedConfig(node, contract));
        Object.keys(contract.defaults).forEach(function (key) {
            if ($('#' + (prefix || 'node-input') + '-' + key).length) return;
            if (JSON.stringify(migrated[key]) !== JSON.stringify(node[key])) node[key] = migrated[key];
        });
    }

    /** A node's `paletteLabel`: the palette shows the type's name from its catalogue. */
    function paletteLabel(t) {
        return function () {
            return t('paletteLabel');
        };
    }

    /** A node's `labelStyle`: a name the user gave is shown in italics. */
    function labelStyle() {
        return this.name ? 'node_label_italic' : '';
    }

    /**
     * A node type's `defaults`: its name and version first, then (for a node that talks to Exotel)
     * the required exotel-account config node, then `own`, in their order.
     */
    function defaults(D, t, own) {
        var all = { name: { value: D.name.value }, version: { value: D.version.value } };
        if (D.account) all.account = { value: D.account.value, type: D.account.type, required: D.account.required, label: t('label.account') };
        Object.keys(own).forEach(function (key) {
            all[key] = own[key];
        });
        return all;
    }

    /** The action a node with an `action` property does: as the dialog shows it, else as saved and migrated. */
    function actionOf(node, type) {
        return current(node, 'action', migrated(node, type).action);
    }

    /** The sidebar tab of the SMS sandbox (plugins/exotel-sms.html). */
    var SMS_TAB = 'exotel-sms';

    /** Shows the sandbox phone: the first section of the plugin's SMS tab (plugins/exotel-sms.html). */
    function openSandboxTab() {
        if (RED.actions && typeof RED.actions.get === 'function' && RED.actions.get('exotel-sms:show-sandbox')) RED.actions.invoke('exotel-sms:show-sandbox');
        else if (RED.sidebar && typeof RED.sidebar.show === 'function') RED.sidebar.show(SMS_TAB);
    }

    /**
     * oneditprepare of a node with an Exotel account: a new node (no account chosen yet) gets the
     * account when there is exactly one it may use. `property` defaults to 'account'.
     */
    function preselectAccount(node, property, prefix) {
        property = property || 'account';
        if (node[property]) return;
        var accounts = [];
        RED.nodes.eachConfig(function (config) {
            if (config.type === 'exotel-account' && !config.d && (!config.z || config.z === node.z)) accounts.push(config.id);
        });
        if (accounts.length !== 1) return;
        var select = $('#' + (prefix || 'node-input') + '-' + property);
        if (select.find('option[value="' + accounts[0] + '"]').length) select.val(accounts[0]).trigger('change');
    }

    /**
     * User Settings › View › Language lists only the languages of Node-RED's own editor, and Hindi is
     * not one of them; this package speaks Hindi (locales/hi), so Hindi is offered there too. Chosen,
     * this package's dialogs and help are in Hindi and Node-RED's own texts stay English, as with a
     * browser set to Hindi.
     */
    var LANGUAGES = { hi: 'हिन्दी' };
    function offerLanguages() {
        var known = RED.settings && RED.settings.editorTheme && RED.settings.editorTheme.languages;
        var i18n = typeof i18next !== 'undefined' ? i18next : window.i18next; // eslint-disable-line no-undef
        if (!Array.isArray(known)) return;
        Object.keys(LANGUAGES).forEach(function (lang) {
            if (known.indexOf(lang) !== -1) return;
            known.push(lang);
            // the list names each language by editor:languages.<code>
            if (i18n && i18n.addResource && !i18n.exists('editor:languages.' + lang)) i18n.addResource('en-US', 'editor', 'languages.' + lang, LANGUAGES[lang]);
        });
    }
    offerLanguages();

    window.ExotelSmsEditor = {
        openSandboxTab: openSandboxTab,
        preselectAccount: preselectAccount,
        catalogue: catalogue,
        escape: escape,
        shorten: shorten,
        verdict: verdict,
        validator: validator,
        explainOnHover: explainOnHover,
        options: options,
        editing: editing,
        current: current,
        advancedToggle: advancedToggle,
        migrated: migrated,
        migrateOnOpen: migrateOnOpen,
        migrateOnSave: migrateOnSave,
        paletteLabel: paletteLabel,
        labelStyle: labelStyle,
        defaults: defaults,
        actionOf: actionOf
    };
})();
