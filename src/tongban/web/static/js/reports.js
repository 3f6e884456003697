// Report picker: show the fields the chosen kind needs and the periods of the chosen cohort.
(function () {
  const form = document.querySelector('[data-testid="report-picker"]');
  if (!form) return;
  const kind = form.querySelector('#report-kind');
  const cohort = form.querySelector('#report-cohort');
  const month = form.querySelector('#report-month');
  const quarter = form.querySelector('#report-quarter');

  function filterPeriods(select) {
    let first = null;
    for (const option of select.options) {
      option.hidden = option.dataset.cohort !== cohort.value;
      if (!option.hidden && first === null) first = option;
    }
    if (select.selectedOptions.length === 0 || select.selectedOptions[0].hidden) {
      if (first) first.selected = true;
    }
  }

  function update() {
    for (const label of form.querySelectorAll('label[data-for]')) {
      const shown = label.dataset.for.split(' ').includes(kind.value);
      label.hidden = !shown;
      for (const field of label.querySelectorAll('input, select')) field.disabled = !shown;
    }
    filterPeriods(month);
    filterPeriods(quarter);
  }

  kind.addEventListener('change', update);
  cohort.addEventListener('change', update);
  update();
})();
