/* Tab gates (callbacks/common.py, tab_gate): a background callback's request is stored only while its tab is
   shown, so a hidden tab costs no request and no job. Arguments: the request's values (the first one the dataset
   key or the compare store), [the switch that opens the part,] the active tab, the gate's own tab. */
(function () {
    function isSet(value) {  // Python's truth of a JSON value: no key, "", {}, [] and false are not set
        if (value === null || value === undefined || value === "" || value === false || value === 0) {
            return false;
        }
        if (Array.isArray(value)) { return value.length > 0; }
        if (typeof value === "object") { return Object.keys(value).length > 0; }
        return true;
    }

    function storeRequest(...args) {
        const tab = args.pop();
        const active = args.pop();
        if (active !== tab || !isSet(args[0])) {
            return window.dash_clientside.no_update;
        }
        return args.map((value) => (value === undefined ? null : value));
    }

    function storeRequestWhenShown(...args) {
        const tab = args.pop();
        const active = args.pop();
        const on = args.pop();
        return on === true ? storeRequest(...args, active, tab) : window.dash_clientside.no_update;
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside);
    window.dash_clientside.detlens_gates = {storeRequest, storeRequestWhenShown};
})();
