"""周通报、月考评、季调度: bulletins and reports written from the platform's data."""
